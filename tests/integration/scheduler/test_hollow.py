"""kubelite-hollow-nodes against the real apiserver: nodes, leases, pods to Running, graceful deletion."""

from __future__ import annotations

import ipaddress
import time

import pytest

from tests.integration.scheduler.helpers import Api, make_pod
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.slow]


def test_nodes_registered_with_capacity_info_and_fresh_leases(api: Api, hollow) -> None:
    names = hollow(2, "hn-", "--cpu", "2", "--memory", "8Gi", "--pods", "20", "--lease-interval", "0.3")
    node = api.get(f"/api/v1/nodes/{names[1]}")
    assert node is not None
    assert node["status"]["allocatable"] == {"cpu": "2", "memory": "8Gi", "pods": "20"}
    assert node["status"]["capacity"] == node["status"]["allocatable"]
    assert len(node["status"]["nodeInfo"]) == 10
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "hn-1"

    def renew_time() -> str | None:
        lease = api.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{names[0]}")
        if lease is None:
            return None  # the node may show up Ready a moment before its lease
        assert lease["spec"]["holderIdentity"] == names[0]
        return str(lease["spec"]["renewTime"])

    first = wait_until(renew_time, 5, what="node lease")
    wait_until(lambda: renew_time() != first, 5, what="lease renewed")


def test_bound_pods_run_and_deleted_pods_go(api: Api, hollow, ns: str) -> None:
    hollow(1, "hp-")
    pod = make_pod("direct", nodeName="hp-0")
    pod["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    api.create_pod(ns, pod)

    def running() -> dict | None:
        got = api.pod(ns, "direct") or {}
        return got if got.get("status", {}).get("phase") == "Running" else None

    status = wait_until(running, 10, what="pod Running")["status"]
    assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network("100.64.0.0/10")
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }
    [app] = status["containerStatuses"]
    assert app["ready"] and app["started"] and "running" in app["state"]
    assert "terminated" in status["initContainerStatuses"][0]["state"]

    api.create_pod(ns, make_pod("second", nodeName="hp-0"))
    second = wait_until(
        lambda: (api.pod(ns, "second") or {}).get("status", {}).get("podIP"), 10, what="2nd IP"
    )
    assert second != status["podIP"]

    resp = api.http.delete(f"/api/v1/namespaces/{ns}/pods/direct")  # graceful: the node finishes it
    assert resp.status_code == 200
    wait_until(lambda: api.pod(ns, "direct") is None, 10, what="pod deleted by its hollow node")


def test_a_pod_bound_after_creation_runs(api: Api, hollow, ns: str) -> None:
    """The nodes watch bound pods only (spec.nodeName!=): a pending pod reaches them when its binding lands."""
    hollow(1, "hb-")
    created = api.create_pod(ns, make_pod("later", schedulerName="nobody"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "later", "uid": created["metadata"]["uid"]},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "hb-0"},
    }
    api.post(f"/api/v1/namespaces/{ns}/pods/later/binding", binding)
    wait_until(
        lambda: (api.pod(ns, "later") or {}).get("status", {}).get("phase") == "Running", 10, what="Running"
    )


def test_ready_delay_holds_a_bound_pod_pending_that_long(api: Api, hollow, ns: str) -> None:
    hollow(1, "hd-", "--ready-delay", "1.5")
    created = time.monotonic()
    api.create_pod(ns, make_pod("slow", nodeName="hd-0"))
    time.sleep(0.5)  # well inside the delay: no status yet (a check at a moment, not a wait)
    assert (api.pod(ns, "slow") or {}).get("status", {}).get("phase") in (None, "Pending")
    wait_until(
        lambda: (api.pod(ns, "slow") or {}).get("status", {}).get("phase") == "Running", 10, what="Running"
    )
    assert time.monotonic() - created >= 1.5
