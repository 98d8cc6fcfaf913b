"""The node status, Lease and taint code shared by the kubelet and the hollow nodes (kubelet/nodestatus.py)."""

import pytest

from kubelet import hollow, node
from kubelet.__main__ import _taints
from kubelet.config import KubeletConfig
from kubelet.nodestatus import node_conditions, parse_taint


def test_conditions_keep_transition_times_and_move_heartbeats() -> None:
    first = {c["type"]: c for c in node_conditions({}, "t1")}
    second = {c["type"]: c for c in node_conditions(first, "t2", {"DiskPressure": True})}
    assert second["Ready"]["lastTransitionTime"] == "t1" and second["Ready"]["lastHeartbeatTime"] == "t2"
    assert second["DiskPressure"] == {
        "type": "DiskPressure",
        "status": "True",
        "lastHeartbeatTime": "t2",
        "lastTransitionTime": "t2",
        "reason": "KubeletHasDiskPressure",
        "message": "kubelet has disk pressure",
    }


def test_hollow_and_real_nodes_report_the_same_conditions() -> None:
    config = KubeletConfig(node_name="n1")
    facts = {"cpu": 2, "memory": 2**30, "disk": 2**30, "nodeInfo": {"architecture": "amd64"}}
    real = node.node_object(config, facts, "192.0.2.1")["status"]["conditions"]
    simulated = hollow.node_object("h-0", {"cpu": "4"}, {}, [], "t")["status"]["conditions"]
    assert [{k: c[k] for k in ("type", "status", "reason", "message")} for c in real] == [
        {k: c[k] for k in ("type", "status", "reason", "message")} for c in simulated
    ]


def test_both_parse_taints_alike() -> None:
    assert _taints("a=b:NoSchedule,c:NoExecute") == [
        parse_taint("a=b:NoSchedule"),
        parse_taint("c:NoExecute"),
    ]
    with pytest.raises(ValueError):
        parse_taint("a=b")
