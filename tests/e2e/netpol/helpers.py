"""What the e2e netpol tests share besides their fixtures (those, and how they set things up, are in conftest.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests import factories
from tests.e2e.proxy.helpers import Cluster
from tests.factories import Obj
from tests.images import BUSYBOX_IMAGE
from tests.integration.kubectl.kube import Kubectl
from tests.integration.netpol.helpers import NetpolProc
from tests.polling import wait_until

SERVE = 'mkdir -p /www && echo "$POD_NAME" > /www/index.html && exec httpd -f -p 8080 -h /www'


def serving_container(image: str, **fields: Any) -> Obj:
    """Container `c`: busybox httpd on :8080 (port `http`) answering its pod's name; `fields` are added."""
    name_env = {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    ports = [{"name": "http", "containerPort": 8080}]
    return factories.container("c", image, command=["sh", "-c", SERVE], env=[name_env], ports=ports, **fields)


@dataclass
class Net:
    """The cluster, its agent and kubectl, and the ways a test reaches a pod."""

    cluster: Cluster
    agent: NetpolProc
    kubectl: Kubectl
    made: list[str] = field(default_factory=list)

    def namespace(self, **labels: str) -> str:
        ns = self.cluster.namespace()
        if labels:
            self.kubectl("label", "namespace", ns, *(f"{k}={v}" for k, v in labels.items()))
        return ns

    def apply(self, ns: str, *objs: Obj) -> None:
        self.kubectl("apply", "-n", ns, "-f", "-", stdin=yaml.safe_dump_all(objs))

    def pod(
        self, ns: str, name: str, node: str, labels: dict[str, str] | None = None, *, serve: bool = True
    ) -> Obj:
        """A busybox pod pinned to `node`: an httpd on :8080 answering its own name (a readiness probe on it),
        or only a shell to send requests from."""
        box = serving_container(BUSYBOX_IMAGE) if serve else factories.container("c", BUSYBOX_IMAGE)
        if serve:
            box["readinessProbe"] = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
        else:
            box["command"] = ["sleep", "3600"]
        pod = factories.pod(name, labels, containers=[box], node=node, terminationGracePeriodSeconds=0)
        self.cluster.create(f"/api/v1/namespaces/{ns}/pods", pod)
        return self.cluster.wait_running(ns, name, 60)

    def server_and_client(self, ns: str, client_labels: dict[str, str] | None = None) -> tuple[Obj, Obj, str]:
        """What most tests start from: `server` (app=server, serving) on node A, `client` (labelled
        `client_labels`, only a shell) on node B, and the server's pod IP."""
        server = self.pod(ns, "server", self.cluster.a.name, {"app": "server"})
        client = self.pod(ns, "client", self.cluster.b.name, client_labels, serve=False)
        return server, client, server["status"]["podIP"]

    def get(self, client: Obj, ip: str, port: int = 8080) -> str:
        """GET / from inside `client` with busybox wget: the body, or "" when the connection failed. (The time
        limit is busybox `timeout`'s: busybox-static's `wget -T` dies of SIGSEGV.)"""
        cid = client["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")
        out = subprocess.run(
            ["docker", "exec", cid, "sh", "-c", f"timeout 3 wget -q -O - http://{ip}:{port}/"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.stdout.strip() if out.returncode == 0 else ""

    def eventually(self, check: Callable[[], bool], what: str, timeout: float = 5) -> float:
        """Poll `check` until it holds; return how long that took (seconds)."""
        start = time.monotonic()
        try:
            wait_until(check, timeout, 0.05, what=what, ignore=())
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.agent.logs()[-3000:]}") from None
        return time.monotonic() - start
