"""The kubelet's stats on real Docker: a CPU-busy container's usage as `docker stats` sees it, the working set of a
container that fills N MiB, /metrics/resource and /metrics/cadvisor, the kubelet's authentication (401) and
authorization (403) in front of them, and the apiserver's node proxy (`kubectl get --raw .../proxy/stats/summary`).

One kubelet of its own (collecting every second) on the kubelet suite's apiserver."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.binaries import KUBECTL
from tests.e2e.kubelet.conftest import (
    KubeletProc,
    cleanup_node,
    container_id,
    make_pod,
    start_token_controllers,
)
from tests.harness import ApiServer, docker_ok, free_pod_cidrs, free_port, stop_process, wait_until
from tests.images import ensure_images

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

BUSY = "while :; do :; done"
FILL_MIB = 40


class StatsNode:
    def __init__(self, kubelet: KubeletProc, api: httpx.Client, ns: str) -> None:
        self.kubelet = kubelet
        self.api = api
        self.ns = ns
        # As the apiserver calls the kubelet: its kubelet-client certificate (system:kubelet-api-admin).
        self.http = httpx.Client(
            base_url=f"https://127.0.0.1:{kubelet.port}",
            verify=kubelet.apiserver.pki.ssl_context("kube-apiserver-kubelet-client", ()),
            timeout=10,
        )

    def summary(self) -> dict[str, Any]:
        r = self.http.get("/stats/summary")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def pod_stats(self, name: str) -> dict[str, Any] | None:
        for p in self.summary()["pods"]:
            if p["podRef"]["name"] == name and p["podRef"]["namespace"] == self.ns:
                return dict(p)
        return None

    def running(self, name: str) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            r = self.api.get(f"/api/v1/namespaces/{self.ns}/pods/{name}")
            pod = r.json() if r.status_code == 200 else {}
            return pod if (pod.get("status") or {}).get("phase") == "Running" else None

        return dict(wait_until(check, 60, 0.2, what=f"pod {name} running"))


@pytest.fixture(scope="module")
def stats_node(kubelet_apiserver: ApiServer) -> Iterator[StatsNode]:
    if not docker_ok():
        pytest.skip("Docker engine not available")
    ensure_images()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-stats-"))
    [cidr] = free_pod_cidrs(1, range(100, 250))
    name = f"ks{uuid.uuid4().hex[:6]}"
    kubelet = KubeletProc(name, cidr, free_port(), tmp / "root", tmp / "cni", kubelet_apiserver,
                          extra=["--housekeeping-interval", "1"])  # fmt: skip
    api = kubelet_apiserver.client(timeout=10)
    ns = f"ks-{uuid.uuid4().hex[:8]}"
    publisher = start_token_controllers(
        kubelet_apiserver
    )  # the namespace's default ServiceAccount for the pods
    try:
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        assert r.status_code == 201, r.text
        kubelet.start()
        node = StatsNode(kubelet, api, ns)
        yield node
        node.http.close()
    finally:
        stop_process(publisher[0])
        publisher[1].unlink(missing_ok=True)
        kubelet.stop()
        cleanup_node(kubelet)
        kubelet.discard_log()
        api.delete(f"/api/v1/namespaces/{ns}")
        api.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _docker_cores(container: Any) -> float:
    """One `docker stats` reading of a container, in cores, computed as the docker CLI computes CPUPerc/100."""
    s = container.stats(stream=False)
    cpu_delta = s["cpu_stats"]["cpu_usage"]["total_usage"] - s["precpu_stats"]["cpu_usage"]["total_usage"]
    system_delta = s["cpu_stats"]["system_cpu_usage"] - s["precpu_stats"].get("system_cpu_usage", 0)
    online = s["cpu_stats"].get("online_cpus") or len(s["cpu_stats"]["cpu_usage"].get("percpu_usage") or [1])
    return float(cpu_delta / system_delta * online) if system_delta > 0 else 0.0


def test_cpu_of_a_busy_container_follows_docker_stats(stats_node: StatsNode) -> None:
    pod = make_pod("busy", stats_node.kubelet.name, [{
        "name": "spin", "command": ["sh", "-c", BUSY], "resources": {"limits": {"cpu": "500m"}},
    }])  # fmt: skip
    assert stats_node.api.post(f"/api/v1/namespaces/{stats_node.ns}/pods", json=pod).status_code == 201
    cid = container_id(stats_node.running("busy"), "spin")

    def rate() -> int | None:
        p = stats_node.pod_stats("busy")
        c = next((c for c in (p or {}).get("containers", []) if c["name"] == "spin"), None)
        return c["cpu"].get("usageNanoCores") if c else None

    wait_until(lambda: (rate() or 0) > 100_000_000, 30, 0.3, what="busy container's usageNanoCores")
    engine = docker.from_env()
    try:
        container = engine.containers.get(cid)
        ours, theirs = [], []
        for _ in range(4):  # the same window: our rate and docker's, taken one after the other, four times
            theirs.append(_docker_cores(container))
            ours.append((rate() or 0) / 1e9)
        ours_avg, theirs_avg = sum(ours) / len(ours), sum(theirs) / len(theirs)
        assert theirs_avg > 0.3, theirs  # the container really is busy (limited to half a core)
        assert abs(ours_avg - theirs_avg) <= 0.2 * theirs_avg, (ours, theirs)
    finally:
        engine.close()
    summary = stats_node.summary()
    node_cpu = summary["node"]["cpu"]
    assert node_cpu["usageNanoCores"] >= 0.3e9 and node_cpu["usageCoreNanoSeconds"] > 0
    p = stats_node.pod_stats("busy")
    assert (
        p is not None
        and p["cpu"]["usageCoreNanoSeconds"] >= p["containers"][0]["cpu"]["usageCoreNanoSeconds"]
    )
    assert p["network"]["name"] == "eth0" and "rxBytes" in p["network"]


def test_working_set_of_a_container_that_fills_memory(stats_node: StatsNode) -> None:
    fill = f"dd if=/dev/zero of=/dev/shm/fill bs=1M count={FILL_MIB} && sleep 3600"
    pod = make_pod("filler", stats_node.kubelet.name, [{"name": "fill", "command": ["sh", "-c", fill]}])
    assert stats_node.api.post(f"/api/v1/namespaces/{stats_node.ns}/pods", json=pod).status_code == 201
    stats_node.running("filler")

    def working_set() -> int:
        p = stats_node.pod_stats("filler")
        c = next((c for c in (p or {}).get("containers", []) if c["name"] == "fill"), None)
        return int(c["memory"]["workingSetBytes"]) if c else 0

    ws = wait_until(
        lambda: (w := working_set()) >= FILL_MIB << 20 and w, 30, 0.3, what=f"{FILL_MIB} MiB working set"
    )
    assert ws < (FILL_MIB + 24) << 20, ws  # the filled pages and a few MiB of shell, not more
    text = stats_node.http.get("/metrics/resource").text
    line = f'container_memory_working_set_bytes{{container="fill",namespace="{stats_node.ns}",pod="filler"}} '
    [sample] = [ln for ln in text.splitlines() if ln.startswith(line)]
    value, stamp = sample[len(line) :].split()
    assert float(value) >= FILL_MIB << 20 and abs(int(stamp) / 1000 - time.time()) < 30
    assert "resource_scrape_error 0" in text.splitlines()
    cadvisor = stats_node.http.get("/metrics/cadvisor")
    assert cadvisor.status_code == 200 and cadvisor.headers["content-type"].startswith("text/plain")
    assert any(
        ln.startswith("container_memory_working_set_bytes{") and 'container="fill"' in ln and 'id="/' in ln
        for ln in cadvisor.text.splitlines()
    )


@pytest.mark.parametrize("path", ["/stats/summary", "/metrics/resource", "/metrics/cadvisor"])
def test_stats_endpoints_need_an_authorized_caller(stats_node: StatsNode, path: str) -> None:
    url = f"https://127.0.0.1:{stats_node.kubelet.port}{path}"
    pki = stats_node.kubelet.apiserver.pki
    anonymous = httpx.get(url, verify=stats_node.kubelet.apiserver.ca_file, timeout=10)
    assert anonymous.status_code == 401
    stranger = httpx.get(url, verify=pki.ssl_context("stats-stranger", ()), timeout=10)
    assert stranger.status_code == 403
    sub = "stats" if path.startswith("/stats") else "metrics"
    assert f"subresource={sub}" in stranger.text
    assert stats_node.http.get(path).status_code == 200


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (scripts/install)")
def test_kubectl_get_raw_through_the_node_proxy(stats_node: StatsNode) -> None:
    apiserver = stats_node.kubelet.apiserver
    node = stats_node.kubelet.name
    assert KUBECTL is not None

    def kubectl(kubeconfig: Path, path: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "get", "--raw", path],
                              capture_output=True, text=True, timeout=30)  # fmt: skip

    admin = apiserver.admin_kubeconfig
    out = kubectl(admin, f"/api/v1/nodes/{node}/proxy/stats/summary")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["node"]["nodeName"] == node
    out = kubectl(admin, f"/api/v1/nodes/{node}/proxy/metrics/resource")
    assert out.returncode == 0 and "node_cpu_usage_seconds_total " in out.stdout, out.stderr
    stranger = apiserver.kubeconfig_for("stats-stranger")
    out = kubectl(stranger, f"/api/v1/nodes/{node}/proxy/stats/summary")
    assert out.returncode != 0 and "forbidden" in out.stderr.lower(), out.stderr
    out = kubectl(admin, "/api/v1/nodes/no-such-node/proxy/stats/summary")
    assert out.returncode != 0 and "not found" in out.stderr, out.stderr
    with apiserver.client(timeout=10) as api:
        r = api.get(f"/api/v1/nodes/{node}/proxy/stats/%2E%2E/%2E%2E/etc/passwd")
        assert r.status_code == 400 and r.json()["kind"] == "Status"
        r = api.post(f"/api/v1/nodes/{node}/proxy/stats/summary")
        assert r.status_code == 405 and r.json()["kind"] == "Status"
