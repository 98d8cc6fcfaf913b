"""A whole kubelite cluster on this machine, as real processes: etcd, apiserver, scheduler,
controller-manager and two kubelets on Docker. Shared by the e2e tests of this folder and `bench/failover.py`.

`LocalCluster.start()` brings everything up (a private etcd, so the scheduler and the node lifecycle
controller see only our two nodes); `stop()` undoes all of it whether or not `start()` finished: processes by
PID, every container labelled with our node names (a SIGKILLed kubelet leaves its containers running), CNI
state, bridges, host rules, the cluster CIDR guard route if we created it, temp dirs and logs (kept with
KUBELITE_KEEP_LOGS=1).

The apiserver's default not-ready/unreachable tolerations and the controller-manager's
--node-monitor-grace-period are shortened (`toleration`, `grace`) so that a dead kubelet's pods move within
seconds; watchers.py observes rollouts and times a kubelet failover.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import factories
from tests.binaries import KCTL, KUBECTL
from tests.cluster import control_plane, guard_route_restored, running_nodes
from tests.e2e.kubelet.helpers import KubeletProc
from tests.factories import Obj
from tests.harness import (
    CONTROLLER_MANAGER,
    SCHEDULER,
    ApiServer,
    Etcd,
    discard_log,
    docker_ok,
    free_pod_cidrs,
    free_port,
    start_component,
    stop_process,
)
from tests.images import BUSYBOX_IMAGE, ensure_images
from tests.kube import write_kubeconfig
from tests.polling import wait_until

SECOND_IMAGE = BUSYBOX_IMAGE.rsplit(":", 1)[0] + ":2"
HTTPD = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"


# What a test module needs that drives a LocalCluster (with the real kubectl).
CLUSTER_MARKS = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow, pytest.mark.etcd]
KUBECTL_CLUSTER_MARKS = [
    *CLUSTER_MARKS,
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed"),
]


def skip_unless_a_cluster_can_run() -> None:
    """Skip the test (module) on a machine where a LocalCluster cannot start: no etcd, no Docker, not root."""
    if not (shutil.which("etcd") or Path("/usr/bin/etcd").exists()):
        pytest.skip("etcd is not installed")
    if not docker_ok():
        pytest.skip("Docker engine not available")
    if os.geteuid() != 0:
        pytest.skip("the kubelets need root here (bridges, routes, iptables)")


def ensure_second_tag() -> None:
    """The test image under a second local tag (same content: a template change is all a rollout needs)."""
    ensure_images()
    if subprocess.run(["docker", "image", "inspect", SECOND_IMAGE], capture_output=True).returncode != 0:
        subprocess.run(["docker", "tag", BUSYBOX_IMAGE, SECOND_IMAGE], check=True, capture_output=True)


@dataclass
class LocalCluster:
    """The processes of one cluster.

    `grace`: the controller-manager's --node-monitor-grace-period; `toleration`: the apiserver's default
    not-ready/unreachable tolerationSeconds.
    """

    grace: int = 5
    toleration: int = 5
    prefix: str = "kc"
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kubelite-cluster-e2e-")))
    etcd: Etcd | None = None
    apiserver: ApiServer | None = None
    kubelets: list[KubeletProc] = field(default_factory=list)
    procs: dict[str, tuple[Any, Path]] = field(default_factory=dict)
    api: httpx.Client | None = None
    _stack: ExitStack = field(default_factory=ExitStack)

    @property
    def url(self) -> str:
        assert self.apiserver is not None
        return self.apiserver.url

    @property
    def a(self) -> KubeletProc:
        return self.kubelets[0]

    @property
    def b(self) -> KubeletProc:
        return self.kubelets[1]

    @property
    def kubeconfig(self) -> Path:
        return self.tmp / "kubeconfig"

    def start(self) -> None:
        """Start everything (tests/cluster.py's pieces); what did start is stopped by stop(), even after a failure
        here."""
        ensure_second_tag()
        stack = self._stack
        stack.enter_context(guard_route_restored())
        tol = str(self.toleration)
        started = stack.enter_context(
            control_plane(
                apiserver_args=[
                    "--default-not-ready-toleration-seconds", tol, "--default-unreachable-toleration-seconds", tol
                ]
            )
        )  # fmt: skip
        self.etcd, self.apiserver = started.etcd, started.apiserver
        api = self.apiserver
        self.api = stack.enter_context(api.client(timeout=10))
        write_kubeconfig(self.kubeconfig, api)
        stack.callback(self._stop_components)
        # Each component as its own identity, with only its bootstrap role's rights.
        self.procs["scheduler"] = start_component(
            ["scheduler", *api.component_args(*SCHEDULER), "--port", str(free_port())], "cluster-scheduler"
        )
        self.procs["controller-manager"] = start_component(
            ["controller_manager", *api.component_args(*CONTROLLER_MANAGER), "--port", str(free_port()),
             "--root-ca-file", api.ca_file,
             "--node-monitor-grace-period", f"{self.grace}s", "--node-eviction-rate", "10"],
            "cluster-controller-manager",
        )  # fmt: skip
        suffix = uuid.uuid4().hex[:5]
        # 10-99: the kubelet and proxy e2e fixtures take theirs from 100-249
        cidrs = free_pod_cidrs(2, range(10, 100))
        self.kubelets = [
            KubeletProc(f"{self.prefix}{suffix}{x}", cidr, free_port(),
                        self.tmp / x / "root", self.tmp / x / "cni", api)
            for x, cidr in zip("ab", cidrs, strict=True)
        ]  # fmt: skip
        stack.enter_context(running_nodes(self.kubelets))
        wait_until(self._nodes_ready, 30, 0.2, what="both nodes Ready")
        for name, (proc, _log) in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{self.log(name)}")

    def _nodes_ready(self) -> bool:
        return all(self.node_ready(k.name) == "True" for k in self.kubelets)

    def node(self, name: str) -> Obj:
        assert self.api is not None
        r = self.api.get(f"/api/v1/nodes/{name}")
        r.raise_for_status()
        return dict(r.json())

    def node_ready(self, name: str) -> str | None:
        for c in self.node(name).get("status", {}).get("conditions") or []:
            if c.get("type") == "Ready":
                return str(c.get("status"))
        return None

    def log(self, name: str, tail: int = 4000) -> str:
        """The last `tail` characters of a component's log ("scheduler", "controller-manager", "apiserver",
        or a kubelet's node name)."""
        if name == "apiserver" and self.apiserver is not None:
            return self.apiserver.logs()[-tail:]
        for k in self.kubelets:
            if k.name == name:
                return k.logs()[-tail:]
        if name in self.procs:
            return self.procs[name][1].read_text(errors="replace")[-tail:]
        return ""

    def logs(self, tail: int = 3000) -> str:
        names = ["apiserver", "scheduler", "controller-manager", *(k.name for k in self.kubelets)]
        return "\n".join(f"----- {n} -----\n{self.log(n, tail)}" for n in names)

    def _stop_components(self) -> None:
        for proc, log in self.procs.values():
            stop_process(proc)
            discard_log(log)
        self.procs.clear()

    def stop(self) -> None:
        """Stop what start() started, in reverse order (kubelets and their nodes first, the guard route last)."""
        try:
            self._stack.close()
        finally:
            self.api = None
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- objects -------------------------------------------------------------------------------------------

    def namespace(self) -> str:
        assert self.api is not None
        ns = f"{self.prefix}-{uuid.uuid4().hex[:8]}"
        r = self.api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        assert r.status_code == 201, r.text
        return ns

    def create_deployment(self, ns: str, name: str, replicas: int) -> Obj:
        assert self.api is not None
        r = self.api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=deployment(name, replicas))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def deployment(self, ns: str, name: str) -> Obj:
        assert self.api is not None
        r = self.api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
        r.raise_for_status()
        return dict(r.json())

    def set_image(self, ns: str, name: str, image: str) -> None:
        assert self.api is not None
        body = {"spec": {"template": {"spec": {"containers": [{"name": "httpd", "image": image}]}}}}
        r = self.api.patch(
            f"/apis/apps/v1/namespaces/{ns}/deployments/{name}",
            json=body,
            headers={"Content-Type": "application/strategic-merge-patch+json"},
        )
        assert r.status_code == 200, r.text

    def pods(self, ns: str, name: str) -> list[Obj]:
        assert self.api is not None
        r = self.api.get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": f"app={name}"})
        r.raise_for_status()
        return list(r.json()["items"])

    def event_reasons(self, ns: str) -> set[str]:
        assert self.api is not None
        r = self.api.get(f"/api/v1/namespaces/{ns}/events")
        r.raise_for_status()
        return {str(e.get("reason")) for e in r.json()["items"]}

    def node_containers(self, node: str) -> list[str]:
        """IDs of the running Docker containers of `node` (sandboxes included)."""
        out = subprocess.run(
            ["docker", "ps", "-q", "--filter", f"label=io.kubelite.node={node}"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.split()

    def live_ready_pods(self, ns: str, name: str) -> list[Obj]:
        return [p for p in self.pods(ns, name) if not p["metadata"].get("deletionTimestamp") and is_ready(p)]

    def rollout_complete(self, ns: str, name: str) -> bool:
        """What `kubectl rollout status` tests: every replica updated and available, no old ones left."""
        d = self.deployment(ns, name)
        s = d.get("status") or {}
        n = d["spec"]["replicas"]
        return bool(
            s.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and s.get("updatedReplicas") == n
            and s.get("replicas") == n
            and s.get("availableReplicas") == n
        )

    def wait_rollout(self, ns: str, name: str, timeout: float = 60) -> float:
        """Wait until the rollout is complete; returns the seconds it took."""
        t0 = time.monotonic()
        try:
            wait_until(lambda: self.rollout_complete(ns, name), timeout, 0.1, what=f"rollout of {name}")
        except TimeoutError as exc:
            d = self.deployment(ns, name)
            raise AssertionError(f"{exc}; status {json.dumps(d.get('status'))}\n{self.logs()}") from None
        return time.monotonic() - t0


def deployment(name: str, replicas: int, image: str = BUSYBOX_IMAGE) -> Obj:
    """busybox httpd behind an HTTP readiness probe; 25% surge/unavailable (2 and 1 of 6)."""
    container = {
        "name": "httpd",
        "image": image,
        "command": ["sh", "-c", HTTPD],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1},
        "resources": {"requests": {"cpu": "50m", "memory": "16Mi"}},
    }
    rolling = {"maxSurge": "25%", "maxUnavailable": "25%"}
    return factories.deployment(
        name,
        replicas,
        containers=[container],
        labelled=False,
        pod_spec={"terminationGracePeriodSeconds": 2},
        strategy={"type": "RollingUpdate", "rollingUpdate": rolling},
    )


def is_ready(pod: Obj) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def pod_image(pod: Obj) -> str:
    return str(pod["spec"]["containers"][0]["image"])


def kubectl(cluster: LocalCluster, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """The real kubectl with the cluster's kubeconfig, a fresh cache dir and a private HOME."""
    assert KUBECTL is not None
    home = cluster.tmp / "kubectl-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["HOME"] = str(home)
    argv = [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(home / "cache"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


def kctl(cluster: LocalCluster, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Our CLI, as a user runs it, against the cluster's kubeconfig."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["HOME"] = str(cluster.tmp)
    assert KCTL is not None
    argv = [KCTL, "--kubeconfig", str(cluster.kubeconfig), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
