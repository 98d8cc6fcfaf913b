"""What the e2e kubelet tests share besides their fixtures (those, and how they set things up, are in conftest.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests import factories
from tests.harness import (
    CONTROLLER_MANAGER,
    ApiServer,
    discard_log,
    free_pod_cidrs,
    free_port,
    node_identity,
    start_component,
    stop_process,
)
from tests.images import BUSYBOX_IMAGE
from tests.polling import wait_until

CLUSTER_CIDR = "10.244.0.0/16"


@dataclass
class KubeletProc:
    name: str
    pod_cidr: str
    port: int
    root_dir: Path
    conf_dir: Path
    apiserver: (
        ApiServer  # the kubelet runs as system:node:<name> on it, and serves HTTPS with a cert of its CA
    )
    extra: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def args(self) -> list[str]:
        cert, key = self.apiserver.pki.serving(self.name, ("127.0.0.1",))
        return [
            "kubelet",
            *self.apiserver.component_args(*node_identity(self.name)),
            "--tls-cert-file", str(cert), "--tls-private-key-file", str(key),
            "--client-ca-file", self.apiserver.ca_file,
            "--node-name", self.name,
            "--node-ip", "127.0.0.1",
            "--address", "127.0.0.1",
            "--port", str(self.port),
            "--pod-cidr", self.pod_cidr,
            "--cluster-cidr", CLUSTER_CIDR,
            "--root-dir", str(self.root_dir),
            "--cni-conf-dir", str(self.conf_dir),
            "--crashloop-backoff-initial", "2",
            "--crashloop-backoff-max", "16",
            "--resync-interval", "5",
            "--lease-renew-interval", "2",
            "--log-level", "INFO",
            *self.extra,
        ]  # fmt: skip

    def start(self) -> None:
        self.discard_log()
        self.proc, self.log_path = start_component(self.args(), f"kubelet-{self.name}")
        wait_until(self._healthy, 30, what=f"kubelet {self.name} healthz")

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"kubelet {self.name} exited:\n{self.logs()[-3000:]}")
        return (
            httpx.get(
                f"https://127.0.0.1:{self.port}/healthz", timeout=1, verify=self.apiserver.ca_file
            ).status_code
            == 200
        )

    def stop(self) -> None:
        stop_process(self.proc, timeout=15)
        self.proc = None

    def discard_log(self) -> None:
        if self.log_path is not None:
            discard_log(self.log_path)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@dataclass
class NodePair:
    api: httpx.Client
    a: KubeletProc
    b: KubeletProc

    def namespace(self) -> str:
        ns = f"kl-{uuid.uuid4().hex[:8]}"
        # These tests run hostPath and hostPort pods: the namespace says so, whatever the cluster's default level.
        labels = {"pod-security.kubernetes.io/enforce": "privileged"}
        r = self.api.post("/api/v1/namespaces", json={"metadata": {"name": ns, "labels": labels}})
        assert r.status_code == 201, r.text
        return ns

    def create_pod(self, ns: str, pod: dict[str, Any]) -> dict[str, Any]:
        r = self.api.post(f"/api/v1/namespaces/{ns}/pods", json=pod)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def delete_pod(self, ns: str, name: str) -> None:
        """Delete the pod at once (grace period 0)."""
        self.api.delete(f"/api/v1/namespaces/{ns}/pods/{name}", params={"gracePeriodSeconds": "0"})

    def get_pod(self, ns: str, name: str) -> dict[str, Any] | None:
        r = self.api.get(f"/api/v1/namespaces/{ns}/pods/{name}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return dict(r.json())

    def wait_pod(
        self, ns: str, name: str, predicate: Any, timeout: float = 30, what: str = ""
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            pod = self.get_pod(ns, name)
            return pod if pod is not None and predicate(pod) else None

        try:
            return dict(wait_until(check, timeout, 0.1, what=what or f"pod {ns}/{name}"))
        except TimeoutError as exc:
            pod = self.get_pod(ns, name)
            raise AssertionError(
                f"{exc}; pod status: {json.dumps((pod or {}).get('status'), indent=1)}"
            ) from None

    def wait_running(self, ns: str, name: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait_pod(ns, name, lambda p: p.get("status", {}).get("phase") == "Running"
                             and p["status"].get("podIP"), timeout, f"pod {name} Running")  # fmt: skip

    def events(self, ns: str, name: str) -> list[dict[str, Any]]:
        r = self.api.get(f"/api/v1/namespaces/{ns}/events")
        r.raise_for_status()
        return [e for e in r.json()["items"] if e.get("involvedObject", {}).get("name") == name]

    def exec(self, pod: dict[str, Any], container: str, *cmd: str) -> subprocess.CompletedProcess[str]:
        """`docker exec` in the pod's container (found through its status)."""
        cid = container_id(pod, container)
        return subprocess.run(["docker", "exec", cid, *cmd], capture_output=True, text=True, timeout=30)

    def containers(self, ns: str, pod: str) -> list[dict[str, Any]]:
        out = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=io.kubelite.pod.namespace={ns}",
             "--filter", f"label=io.kubelite.pod.name={pod}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        if not out:
            return []
        return list(
            json.loads(subprocess.run(["docker", "inspect", *out], capture_output=True, text=True).stdout)
        )


# httpd on the pod's loopback only: reachable through exec and port-forward (inside the namespace), not the host.
HTTPD = "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"


def start_web_pod(node_pair: NodePair, name: str, labels: dict[str, str] | None = None) -> str:
    """A pod on node a serving "hello-from-pod" with HTTPD (container port `http`, 8080), created in a namespace of
    its own and waited for until Ready: Ready only once httpd answers, since Running comes before it listens and a
    first request could race it. Returns the namespace."""
    ns = node_pair.namespace()
    ready = {
        "exec": {"command": ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"]},
        "periodSeconds": 1,
    }
    container = {"name": "c", "command": ["sh", "-c", HTTPD], "readinessProbe": ready,
                 "ports": [{"name": "http", "containerPort": 8080}]}  # fmt: skip
    pod = make_pod(name, node_pair.a.name, [container])
    if labels:
        pod["metadata"]["labels"] = labels
    node_pair.create_pod(ns, pod)
    node_pair.wait_pod(ns, name, pod_ready, what=f"pod {name} Ready")
    return ns


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def stop_collecting_stderr(proc: subprocess.Popen[str]) -> str:
    """Stop `proc` (SIGTERM, then SIGKILL after 5 s), reap it and close its pipes; what it wrote to stderr."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=5)
    return err or ""


def container_id(pod: dict[str, Any], container: str) -> str:
    for s in pod.get("status", {}).get("containerStatuses") or []:
        if s["name"] == container and s.get("containerID"):
            return str(s["containerID"]).removeprefix("docker://")
    raise AssertionError(f"no containerID for {container} in {pod.get('status')}")


def make_pod(name: str, node: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A pod bound to `node` (no scheduler here), busybox unless a container says otherwise, a short grace period."""
    spec.setdefault("terminationGracePeriodSeconds", 1)
    return factories.pod(name, image=BUSYBOX_IMAGE, node=node, containers=containers, **spec)


def cleanup_node(kubelet: KubeletProc) -> None:
    """Remove everything of one node: containers (after CNI DEL of their sandboxes), bridge, rules, dirs."""
    from kubelet.network import host
    from kubelet.network.cni import CniInvoker, bridge_name, node_conflist
    from kubelet.volumes.tmpfs import unmount_under

    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.kubelite.node={kubelet.name}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    conflist = node_conflist(kubelet.name, kubelet.pod_cidr, str(kubelet.root_dir / "cni" / "networks"))
    invoker = CniInvoker("/usr/lib/cni", kubelet.root_dir / "cni" / "results")

    async def teardown() -> None:
        for cid in invoker.cached_ids():
            try:
                await invoker.delete(conflist, cid, "")
            except Exception as exc:  # best effort: the bridge and dirs go below anyway
                print(f"CNI DEL {cid[:12]}: {exc}")
        await host.remove_rules(CLUSTER_CIDR, kubelet.pod_cidr, kubelet.name)
        await unmount_under(kubelet.root_dir)  # the pods' secret volumes (tmpfs) before the directory goes

    asyncio.run(teardown())
    if ids:
        subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
    subprocess.run(["ip", "link", "del", bridge_name(kubelet.name)], capture_output=True)
    shutil.rmtree(kubelet.root_dir, ignore_errors=True)
    shutil.rmtree(kubelet.conf_dir, ignore_errors=True)


def kubelet_pair(prefix: str, tmp: Path, apiserver: ApiServer) -> list[KubeletProc]:
    """Two kubelets (not started), `<prefix>a` and `<prefix>b`, with their dirs under `tmp` and pod CIDRs
    10.244.N.0/24 for two free N in 100-249 (the cluster e2e tests take theirs from 10-99)."""
    cidrs = free_pod_cidrs(2, range(100, 250))
    return [
        KubeletProc(f"{prefix}{x}", cidr, free_port(), tmp / x / "root", tmp / x / "cni", apiserver)
        for x, cidr in zip("ab", cidrs, strict=True)
    ]


def start_token_controllers(apiserver: ApiServer) -> tuple[subprocess.Popen[bytes], Path]:
    """The controller-manager's serviceaccount and root-ca-cert-publisher controllers only: what pods need for
    their API credentials, without controllers that would act on the tests' pods."""
    return start_component(
        ["controller_manager", *apiserver.component_args(*CONTROLLER_MANAGER), "--port", str(free_port()),
         "--controllers", "serviceaccount,root-ca-cert-publisher", "--root-ca-file", apiserver.ca_file],
        "token-controllers",
    )  # fmt: skip
