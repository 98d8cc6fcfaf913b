"""Pure helpers of kubelite-hollow-nodes (kubelet/hollow.py)."""

import ipaddress

import pytest

from kubelet.hollow import PodIPs, node_object, parse_taint, running_status


def test_parse_taint() -> None:
    assert parse_taint("dedicated=infra:NoSchedule") == {
        "key": "dedicated",
        "value": "infra",
        "effect": "NoSchedule",
    }
    assert parse_taint("gpu:NoExecute") == {"key": "gpu", "effect": "NoExecute"}
    with pytest.raises(ValueError):
        parse_taint("gpu:Sometimes")


def test_node_object_is_ready_with_capacity_and_node_info() -> None:
    node = node_object("h-0", {"cpu": "4", "memory": "16Gi", "pods": "110"}, {"zone": "a"}, [], "t")
    status = node["status"]
    assert status["allocatable"] == status["capacity"] == {"cpu": "4", "memory": "16Gi", "pods": "110"}
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    assert len(status["nodeInfo"]) == 10
    assert node["metadata"]["labels"]["zone"] == "a" and "taints" not in node["spec"]


def test_pod_ips_distinct_per_node_and_reused_after_release() -> None:
    first, second = PodIPs(0), PodIPs(1)
    a, b = first.take("ns/a"), first.take("ns/b")
    assert a != b and first.take("ns/a") == a
    assert ipaddress.ip_address(second.take("ns/a")) not in first.cidr
    first.set_cidr("10.244.3.0/24")  # the IPAM controller assigned a podCIDR: new pods use it
    assert ipaddress.ip_address(first.take("ns/c")) in ipaddress.ip_network("10.244.3.0/24")
    first.release("ns/c")
    assert "ns/c" not in first.by_pod


def test_running_status() -> None:
    pod = {
        "metadata": {"uid": "u1"},
        "spec": {
            "containers": [{"name": "app", "image": "busybox"}],
            "initContainers": [{"name": "init", "image": "busybox"}],
        },
    }
    status = running_status(pod, "100.64.0.2", "t")
    assert status["phase"] == "Running" and status["podIP"] == "100.64.0.2"
    assert [c["type"] for c in status["conditions"]] == [
        "PodScheduled",
        "Initialized",
        "ContainersReady",
        "Ready",
    ]
    assert status["containerStatuses"][0]["state"] == {"running": {"startedAt": "t"}}
    assert status["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
