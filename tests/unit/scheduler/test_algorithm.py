import random
from collections import Counter

from scheduler.algorithm import failure_message, schedule
from scheduler.nodeinfo import NodeInfo, PodInfo
from tests.unit.scheduler.factories import make_node, make_pod


def test_failure_message_sorted_like_kubernetes() -> None:
    reasons = Counter({"node(s) had untolerated taint {dedicated: infra}": 2, "Insufficient cpu": 1})
    assert failure_message(3, reasons) == (
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: infra}."
    )
    assert failure_message(0, Counter()) == "no nodes available to schedule pods"


def test_schedule_reports_every_node_reason() -> None:
    nodes = [
        NodeInfo.build(make_node("small", cpu="1")),
        NodeInfo.build(
            make_node("tainted-1", taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}])
        ),
        NodeInfo.build(
            make_node("tainted-2", taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}])
        ),
    ]
    result = schedule(PodInfo.of(make_pod(cpu="2")), nodes)
    assert result.node is None
    assert result.message == (
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: infra}."
    )


def test_schedule_picks_the_only_fitting_node_and_best_score() -> None:
    nodes = [NodeInfo.build(make_node("small", cpu="1")), NodeInfo.build(make_node("big", cpu="8"))]
    assert schedule(PodInfo.of(make_pod(cpu="2")), nodes).node == "big"
    assert schedule(PodInfo.of(make_pod(cpu="500m")), nodes).node == "big"  # least allocated wins


def test_ties_are_broken_at_random() -> None:
    nodes = [NodeInfo.build(make_node(f"n{i}")) for i in range(4)]
    rng = random.Random(1)
    chosen = {schedule(PodInfo.of(make_pod()), nodes, rng=rng).node for _ in range(50)}
    assert chosen == {"n0", "n1", "n2", "n3"}


def test_nodeinfo_tracks_pods_in_and_out() -> None:
    node = NodeInfo.build(make_node())
    a = PodInfo.of(make_pod("a", cpu="1", host_port=80, owner_uid="rs"))
    node.add_pod(a)
    node.add_pod(a)  # re-adding the same key replaces, never double counts
    assert node.requested["cpu"] == 1000 and node.owners["rs"] == 1 and len(node.used_ports) == 1
    node.remove_pod(a.key)
    assert node.requested["cpu"] == 0 and not node.owners and not node.used_ports and not node.pods
