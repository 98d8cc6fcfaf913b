"""`kubectl top` and `kctl top` on real Docker: a kubelet (collecting every second), the real metrics-server
(scraping every 2 s) behind the real apiserver's aggregation layer (front-proxy certificate, APIService,
EndpointSlice), and a CPU-busy container whose usage the metrics follow, within 20% of `docker stats` over the
same window; the official Python client's metrics utilities (the checks of its e2e test
`test_metrics_utilities_integration`, kubernetes-client/python kubernetes/e2e_test/test_utils.py) on the same
cluster."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest
from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes import utils

from tests.binaries import KUBECTL
from tests.e2e.kubelet.helpers import KubeletProc, container_id, make_pod
from tests.e2e.metricsnode import METRICS_APISERVICE, metrics_node, skip_unless_metrics_node_can_run
from tests.harness import ApiServer
from tests.integration.aggregator.metricsserver import MetricsServer
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(300)]

BUSY = "while :; do :; done"
KCTL = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "kctl")


@dataclass
class Cluster:
    apiserver: ApiServer
    kubelet: KubeletProc
    metrics: MetricsServer
    api: httpx.Client
    ns: str
    kubeconfig: Path

    def kubectl(self, *args: str) -> str:
        assert KUBECTL is not None
        out = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), *args], capture_output=True, text=True,
                             timeout=30)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout

    def kctl(self, *args: str) -> str:
        out = subprocess.run([KCTL, "--kubeconfig", str(self.kubeconfig), *args], capture_output=True, text=True,
                             timeout=30)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout

    def running(self, name: str) -> dict:
        def check() -> dict | None:
            pod = self.api.get(f"/api/v1/namespaces/{self.ns}/pods/{name}").json()
            return pod if (pod.get("status") or {}).get("phase") == "Running" else None

        return dict(wait_until(check, 60, 0.2, what=f"pod {name} running"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    skip_unless_metrics_node_can_run()
    with metrics_node("top") as node:
        yield Cluster(
            node.apiserver, node.kubelet, node.metrics, node.api, node.ns, node.apiserver.admin_kubeconfig
        )


def _millicores(cell: str) -> int:
    assert cell.endswith("m"), cell
    return int(cell[:-1])


def _row(out: str, first: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [first])


def test_kubectl_top_follows_a_busy_container(cluster: Cluster) -> None:
    pod = make_pod("busy", cluster.kubelet.name, [{"name": "spin", "command": ["sh", "-c", BUSY],
                                                   "resources": {"limits": {"cpu": "500m"}}}])  # fmt: skip
    pod["metadata"]["labels"] = {"app": "busy"}
    assert cluster.api.post(f"/api/v1/namespaces/{cluster.ns}/pods", json=pod).status_code == 201
    cid = container_id(cluster.running("busy"), "spin")

    last: list[str] = []

    def top_busy() -> int:
        r = subprocess.run([KUBECTL or "kubectl", "--kubeconfig", str(cluster.kubeconfig), "top", "pod", "busy", "-n",
                            cluster.ns], capture_output=True, text=True, timeout=30)  # fmt: skip
        last[:] = [r.stdout + r.stderr]
        return _millicores(_row(r.stdout, "busy")[1]) if r.returncode == 0 else 0

    try:
        wait_until(lambda: top_busy() > 300, 60, 0.5, what="kubectl top pod busy above 300m")
    except TimeoutError:
        apiservice = cluster.api.get(METRICS_APISERVICE).json()
        pytest.fail(
            f"kubectl top: {last}\napiservice: {apiservice.get('status')}\n"
            f"metrics-server: {cluster.metrics.logs()[-3000:]}"
        )
    engine = docker.from_env()
    try:
        container = engine.containers.get(cid)
        ours, theirs = [], []
        for _ in range(3):  # docker's reading and ours over the same seconds, three times
            theirs.append(_docker_cores(container) * 1000)
            ours.append(top_busy())
    finally:
        engine.close()
    ours_avg, theirs_avg = sum(ours) / len(ours), sum(theirs) / len(theirs)
    assert theirs_avg > 300, theirs  # really busy (limited to half a core)
    assert abs(ours_avg - theirs_avg) <= 0.2 * theirs_avg, (ours, theirs)

    nodes = cluster.kubectl("top", "nodes")
    assert nodes.splitlines()[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    row = _row(nodes, cluster.kubelet.name)
    assert _millicores(row[1]) >= 100 and row[2].endswith("%") and row[3].endswith("Mi")

    containers = cluster.kubectl("top", "pods", "-n", cluster.ns, "--containers")
    assert containers.splitlines()[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert _row(containers, "busy")[1] == "spin"
    everywhere = cluster.kubectl("top", "pods", "-A")
    assert everywhere.splitlines()[0].split() == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert _row(everywhere, cluster.ns)[1] == "busy"

    # kctl prints the same columns.
    assert cluster.kctl("top", "nodes").splitlines()[0] == nodes.splitlines()[0]
    ours_containers = cluster.kctl("top", "pods", "-n", cluster.ns, "--containers")
    assert ours_containers.splitlines()[0] == containers.splitlines()[0]
    assert _row(ours_containers, "busy")[1] == "spin" and _millicores(_row(ours_containers, "busy")[2]) > 100
    assert cluster.kctl("top", "pods", "-A").splitlines()[0] == everywhere.splitlines()[0]
    print(
        f"docker stats (millicores): {theirs}\nkubectl top (millicores): {ours}\n{nodes}{containers}{everywhere}"
    )


def test_the_python_clients_metrics_utilities(cluster: Cluster) -> None:
    """The metrics checks of the official client's e2e test_metrics_utilities_integration: its busybox pod
    `myapp-pod` (label app=myapp) in a namespace of its own, then node metrics, pod metrics, a label selector and
    the multi-namespace helper. The pod is bound to our node directly (no scheduler runs here)."""
    ns = f"e2e-utils-{uuid.uuid4().hex[:5]}"
    assert cluster.api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
    try:
        pod = make_pod("myapp-pod", cluster.kubelet.name, [{"name": "myapp-container",
                                                            "command": ["sh", "-c", "echo Hello && sleep 3600"]}])  # fmt: skip
        pod["metadata"]["labels"] = {"app": "myapp"}
        assert cluster.api.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
        config = kclient.Configuration()
        kconfig.load_kube_config(config_file=str(cluster.kubeconfig), client_configuration=config)
        with kclient.ApiClient(config) as api:
            v1 = kclient.CoreV1Api(api)
            wait_until(lambda: v1.read_namespaced_pod("myapp-pod", ns).status.phase == "Running", 60, 0.5,
                       what="myapp-pod running")  # fmt: skip

            def listed() -> bool:
                return "myapp-pod" in [
                    i["metadata"]["name"] for i in utils.get_pods_metrics(api, ns)["items"]
                ]

            wait_until(listed, 30, 0.5, what="myapp-pod in the pod metrics")
            result = utils.get_nodes_metrics(api)
            assert "items" in result and len(result["items"]) > 0
            assert "usage" in result["items"][0]
            result = utils.get_pods_metrics(api, ns, "app=myapp")
            assert len(result["items"]) == 1 and result["items"][0]["metadata"]["name"] == "myapp-pod"
            result = utils.get_pods_metrics_in_all_namespaces(api, [ns, "default"])
            assert ns in result and "error" not in result[ns]
    finally:
        cluster.api.delete(f"/api/v1/namespaces/{ns}/pods/myapp-pod?gracePeriodSeconds=0")
        cluster.api.delete(f"/api/v1/namespaces/{ns}")


def _docker_cores(container: docker.models.containers.Container) -> float:
    """One `docker stats` reading of a container, in cores, computed as the docker CLI computes CPUPerc/100."""
    s = container.stats(stream=False)
    cpu_delta = s["cpu_stats"]["cpu_usage"]["total_usage"] - s["precpu_stats"]["cpu_usage"]["total_usage"]
    system_delta = s["cpu_stats"]["system_cpu_usage"] - s["precpu_stats"].get("system_cpu_usage", 0)
    online = s["cpu_stats"].get("online_cpus") or len(s["cpu_stats"]["cpu_usage"].get("percpu_usage") or [1])
    return float(cpu_delta / system_delta * online) if system_delta > 0 else 0.0
