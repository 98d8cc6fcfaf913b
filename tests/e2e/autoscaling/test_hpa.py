"""An HPA on real Docker, through the real metrics path: a kubelet (collecting every second) -> the real
metrics-server (scraping every 2 s) behind the apiserver's aggregation layer -> metrics.k8s.io PodMetrics read by
the controller-manager's HPA controller (syncing every 2 s) -> the Deployment's scale subresource.

A CPU-busy Deployment (each pod spins at its 200m limit against a 100m request: 200% of 50%) is scaled from 1 to
3 by an HPA that the real `kubectl autoscale` created; when the load stops (each pod is told through `kubectl
exec`) it goes back to 1 after the HPA's scale-down window, shortened to 10 s in its behavior."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.binaries import KUBECTL
from tests.e2e.metricsnode import metrics_node, skip_unless_metrics_node_can_run
from tests.harness import CONTROLLER_MANAGER, SCHEDULER, ApiServer, free_port, start_component, stop_process
from tests.images import BUSYBOX_IMAGE
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(400)]

# Busy until /tmp/idle exists, then idle (PID 1 sleeps; SIGTERM ends it at once with grace period 1).
LOAD = "while [ ! -e /tmp/idle ]; do :; done; exec sleep 3600"


@dataclass
class Cluster:
    apiserver: ApiServer
    api: httpx.Client
    ns: str
    kubeconfig: Path
    logs: dict[str, Path]

    def kubectl(self, *args: str) -> str:
        assert KUBECTL is not None
        out = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), "-n", self.ns, *args],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout

    def state(self) -> str:
        """What a failure message needs: the HPA, the pods and the controller-manager's last lines."""
        hpa = self.api.get(f"/apis/autoscaling/v2/namespaces/{self.ns}/horizontalpodautoscalers/busy").json()
        pods = self.api.get(f"/api/v1/namespaces/{self.ns}/pods").json()["items"]
        podmetrics = self.api.get(f"/apis/metrics.k8s.io/v1beta1/namespaces/{self.ns}/pods").text
        phases = {p["metadata"]["name"]: p["status"].get("phase") for p in pods}
        tail = self.logs["controller-manager"].read_text(errors="replace").splitlines()[-30:]
        return "\n".join([json.dumps(hpa.get("status"), indent=1), str(phases), podmetrics, *tail])

    def replicas(self, name: str) -> int:
        scale = self.api.get(f"/apis/apps/v1/namespaces/{self.ns}/deployments/{name}/scale").json()
        return int(scale["spec"]["replicas"])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    skip_unless_metrics_node_can_run()
    with metrics_node("hpa") as node:
        apiserver = node.apiserver
        procs = []
        try:
            procs.append(start_component(
                ["scheduler", *apiserver.component_args(*SCHEDULER), "--port", str(free_port())], "hpa-scheduler"
            ))  # fmt: skip
            procs.append(start_component(
                ["controller_manager", *apiserver.component_args(*CONTROLLER_MANAGER), "--port", str(free_port()),
                 "--root-ca-file", apiserver.ca_file, "--controllers", "deployment,replicaset,horizontal-pod-autoscaler",
                 "--horizontal-pod-autoscaler-sync-period", "2s"],
                "hpa-controller-manager",
            ))  # fmt: skip
            logs = {"controller-manager": procs[1][1]}
            yield Cluster(apiserver, node.api, node.ns, apiserver.admin_kubeconfig, logs)
        finally:
            for proc, log in procs:
                stop_process(proc)
                log.unlink(missing_ok=True)


def busy_deployment(name: str) -> dict:
    load = factories.container(
        "load",
        BUSYBOX_IMAGE,
        command=["sh", "-c", LOAD],
        resources={"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}},
    )
    return factories.deployment(
        name, 1, containers=[load], labelled=False, pod_spec={"terminationGracePeriodSeconds": 1}
    )


def test_hpa_scales_a_busy_deployment_up_and_back_down(cluster: Cluster) -> None:
    ns = cluster.ns
    created = cluster.api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=busy_deployment("busy"))
    assert created.status_code == 201, created.text
    assert "autoscaled" in cluster.kubectl("autoscale", "deployment", "busy", "--min", "1", "--max", "3",
                                           "--cpu-percent", "50")  # fmt: skip
    # Down after 10 s of low load instead of the default 5 minutes.
    behavior = {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 10}}}
    patched = cluster.api.patch(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/busy",
                                json={"spec": behavior},
                                headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert patched.status_code == 200, patched.text

    try:
        wait_until(lambda: cluster.replicas("busy") == 3, 120, 1, what="the HPA to scale busy to 3")
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{cluster.state()}")
    hpa = cluster.api.get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/busy").json()
    [current] = hpa["status"]["currentMetrics"]
    assert current["resource"]["name"] == "cpu" and current["resource"]["current"]["averageUtilization"] > 50
    busy_table = cluster.kubectl("get", "hpa")
    print(busy_table)
    assert "cpu: " in busy_table and "/50%" in busy_table

    # The load stops in every pod; after the 10 s window the HPA goes back to minReplicas.
    def all_running() -> list[str] | None:
        pods = cluster.api.get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": "app=busy"}).json()
        names = [p["metadata"]["name"] for p in pods["items"] if p["status"].get("phase") == "Running"]
        return names if len(names) == 3 else None

    for name in wait_until(all_running, 120, 1, what="3 running pods"):
        cluster.kubectl("exec", name, "--", "touch", "/tmp/idle")
    try:
        wait_until(lambda: cluster.replicas("busy") == 1, 120, 1, what="the HPA to scale busy back to 1")
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{cluster.state()}")
    hpa = cluster.api.get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/busy").json()
    assert hpa["status"]["desiredReplicas"] == 1
    print(cluster.kubectl("get", "hpa"))
    described = cluster.kubectl("describe", "hpa", "busy")
    print(described)
    assert "New size: 3; reason: cpu resource utilization (percentage of request) above target" in described
    assert "New size: 1; reason: All metrics below target" in described
    events = cluster.api.get(f"/api/v1/namespaces/{ns}/events",
                             params={"fieldSelector": "involvedObject.name=busy"}).json()  # fmt: skip
    assert not [e for e in events["items"] if e["type"] == "Warning" and e["reason"] == "FailedRescale"], (
        json.dumps(events["items"], indent=1)
    )
