"""What the e2e proxy tests share besides their fixtures (those, and how they set things up, are in conftest.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import factories
from tests.cluster import control_plane, guard_route_restored, running_nodes
from tests.e2e.kubelet.helpers import KubeletProc, kubelet_pair
from tests.factories import Obj
from tests.harness import (
    CONTROLLER_MANAGER,
    SCHEDULER,
    docker_ok,
    free_port,
    start_component,
    stop_process,
)
from tests.images import BUSYBOX_IMAGE, ensure_images
from tests.integration.proxy.helpers import KubeProxyProc, need_iptables
from tests.polling import wait_until

# A pod that serves its own name on :8080 and, on SIGTERM, keeps serving for 4 s before it exits (what a preStop
# sleep does in Kubernetes) so that no request is lost while its removal from the endpoints reaches kube-proxy.
HTTPD_CMD = (
    'mkdir -p /www && echo "$POD_NAME" > /www/index.html && httpd -f -p 8080 -h /www & '
    'trap "sleep 4; exit 0" TERM; wait'
)


def httpd_container() -> Obj:
    """busybox httpd on :8080 (port `http`) answering its pod's name, ready once it answers."""
    return factories.container(
        "httpd",
        BUSYBOX_IMAGE,
        command=["sh", "-c", HTTPD_CMD],
        env=[{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        ports=[{"name": "http", "containerPort": 8080}],
        readinessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
    )


def httpd_pod_spec(labels: dict[str, str]) -> Obj:
    return factories.template(labels, [httpd_container()], terminationGracePeriodSeconds=10)


@dataclass
class Cluster:
    api: httpx.Client
    a: KubeletProc
    b: KubeletProc
    proxy: KubeProxyProc
    namespaces: list[str] = field(default_factory=list)

    def namespace(self) -> str:
        ns = f"px-{uuid.uuid4().hex[:8]}"
        r = self.api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        assert r.status_code == 201, r.text
        self.namespaces.append(ns)
        return ns

    def create(self, path: str, obj: Obj) -> Obj:
        r = self.api.post(path, json=obj)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def get(self, path: str) -> Obj | None:
        r = self.api.get(path)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return dict(r.json())

    def service(self, ns: str, name: str, selector: dict[str, str], **spec: Any) -> Obj:
        body = {
            "metadata": {"name": name},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": "http"}], **spec},
        }
        return self.create(f"/api/v1/namespaces/{ns}/services", body)

    def deployment(self, ns: str, name: str, replicas: int) -> Obj:
        pods = {"terminationGracePeriodSeconds": 10}
        body = factories.deployment(
            name, replicas, containers=[httpd_container()], labelled=False, pod_spec=pods
        )
        return self.create(f"/apis/apps/v1/namespaces/{ns}/deployments", body)

    def scale(self, ns: str, name: str, replicas: int) -> None:
        r = self.api.patch(
            f"/apis/apps/v1/namespaces/{ns}/deployments/{name}",
            json={"spec": {"replicas": replicas}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text

    def pods(self, ns: str, selector: str = "") -> list[Obj]:
        r = self.api.get(
            f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": selector} if selector else None
        )
        r.raise_for_status()
        return list(r.json()["items"])

    def ready_pods(self, ns: str, selector: str) -> list[Obj]:
        return [
            p
            for p in self.pods(ns, selector)
            if not p["metadata"].get("deletionTimestamp")
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p.get("status", {}).get("conditions") or []
            )
        ]

    def endpoint_ips(self, ns: str, name: str) -> set[str]:
        """The ready endpoints of a Service as kube-proxy reads them: from its EndpointSlices."""
        r = self.api.get(
            f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
            params={"labelSelector": f"kubernetes.io/service-name={name}"},
        )
        r.raise_for_status()
        return {
            e["addresses"][0]
            for s in r.json()["items"]
            for e in s.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready") is not False
        }

    def wait_running(self, ns: str, name: str, timeout: float = 40) -> Obj:
        def check() -> Obj | None:
            pod = self.get(f"/api/v1/namespaces/{ns}/pods/{name}")
            ok = pod and pod.get("status", {}).get("phase") == "Running" and pod["status"].get("podIP")
            return pod if ok else None

        return dict(wait_until(check, timeout, 0.2, what=f"pod {name} running"))

    def client_pod(
        self, ns: str, node: str, name: str = "client", labels: dict[str, str] | None = None
    ) -> Obj:
        """A busybox pod pinned to `node` that only sleeps: the place requests are sent from."""
        self.create(
            f"/api/v1/namespaces/{ns}/pods",
            {
                "metadata": {"name": name, "labels": labels or {}},
                "spec": {
                    "nodeName": node,
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "3600"]}],
                },
            },
        )
        return self.wait_running(ns, name)

    def sh(self, pod: Obj, script: str, timeout: float = 60) -> str:
        """Run `script` with sh in the pod's first container (docker exec); returns stdout."""
        cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")
        out = subprocess.run(
            ["docker", "exec", cid, "sh", "-c", script], capture_output=True, text=True, timeout=timeout
        )
        return out.stdout

    def fetch_many(self, pod: Obj, url: str, count: int) -> list[str]:
        """`count` sequential GETs of `url` from inside `pod`; "FAIL" for each failed one."""
        script = f"i=0; while [ $i -lt {count} ]; do {get_script(url)}; i=$((i+1)); done"
        return self.sh(pod, script).split()


def get_script(url: str) -> str:
    """Shell for one HTTP GET with busybox nc (busybox-static's wget crashes on non-loopback addresses): prints
    the one-line body, or FAIL."""
    hostport = url.removeprefix("http://").rstrip("/")
    host, _, port = hostport.partition(":")
    return (
        f"r=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port or 80} 2>/dev/null | tail -n 1); "
        'case "$r" in ""|HTTP*) echo FAIL;; *) echo "$r";; esac'
    )


def host_get(url: str, timeout: float = 3) -> str:
    return httpx.get(url, timeout=timeout).text.strip()


def bridge_address(kubelet: KubeletProc) -> str:
    """The node's bridge gateway address: a local address of this machine that is the node's own."""
    from kubelet.network.cni import bridge_name

    out = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "dev", bridge_name(kubelet.name)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(json.loads(out)[0]["addr_info"][0]["local"])


@contextmanager
def small_cluster(kubelet_args: tuple[str, ...] = ()) -> Iterator[Cluster]:
    """The cluster above; `kubelet_args` are added to both kubelets' command lines."""
    need_iptables()
    if not docker_ok():
        pytest.skip("Docker engine not available")
    ensure_images()
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-proxy-e2e-"))
    suffix = uuid.uuid4().hex[:5]
    try:
        with guard_route_restored(), control_plane() as started:
            apiserver = started.apiserver
            # kube-proxy first: its guard routes exist before any pod or service does.
            proxy = KubeProxyProc(apiserver)
            try:
                proxy.start()
                for args, name in (
                    (
                        [
                            "controller_manager",
                            *apiserver.component_args(*CONTROLLER_MANAGER),
                            "--root-ca-file",
                            apiserver.ca_file,
                            "--port",
                            str(free_port()),
                            "--no-allocate-node-cidrs",
                        ],
                        "cm",
                    ),
                    (
                        ["scheduler", *apiserver.component_args(*SCHEDULER), "--port", str(free_port())],
                        "sched",
                    ),
                ):
                    proc, log = start_component(args, f"proxy-e2e-{name}")
                    procs.append(proc)
                    logs.append(log)
                kubelets = kubelet_pair(f"kp{suffix}", tmp, apiserver)
                for k in kubelets:
                    k.extra = [*k.extra, *kubelet_args]
                # Containers go by their node label, not through the API: faster, and works when the control
                # plane is what failed.
                with apiserver.client(timeout=10) as api, running_nodes(kubelets):
                    assert all(p.poll() is None for p in procs), "controller-manager or scheduler exited"
                    yield Cluster(api, kubelets[0], kubelets[1], proxy)
            finally:
                proxy.cleanup()
                for proc in procs:
                    stop_process(proc)
                for log in logs:
                    log.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
