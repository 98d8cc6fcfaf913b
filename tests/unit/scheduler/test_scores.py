from scheduler.nodeinfo import NodeInfo, PodInfo
from scheduler.scores import (
    ScoreContext,
    balanced_allocation,
    least_allocated,
    normalize,
    prefer_no_schedule_count,
    preferred_node_affinity,
    score_nodes,
    selector_spread_count,
)
from tests.unit.scheduler.factories import make_node, make_pod, preferred_affinity


def info(node: dict, pods: list[dict] = ()) -> NodeInfo:  # type: ignore[assignment]
    return NodeInfo.build(node, list(pods))


def test_least_allocated() -> None:
    node = info(make_node(cpu="4", memory="4Gi"), [make_pod("a", cpu="1", memory="1Gi", node_name="node-1")])
    # cpu (4000-2000)/4000 = 50, memory (4Gi-2Gi)/4Gi = 50
    assert least_allocated(PodInfo.of(make_pod(cpu="1", memory="1Gi")), node) == 50
    assert least_allocated(PodInfo.of(make_pod(cpu="8", memory="1Gi")), node) == 25  # cpu over capacity -> 0
    # request-less pods count as 100m / 200Mi
    empty = info(make_node(cpu="1", memory="1000Mi"))
    assert least_allocated(PodInfo.of(make_pod()), empty) == (90 + 80) // 2


def test_balanced_allocation() -> None:
    node = info(make_node(cpu="4", memory="4Gi"))
    assert balanced_allocation(PodInfo.of(make_pod(cpu="2", memory="2Gi")), node) == 100
    assert balanced_allocation(PodInfo.of(make_pod(cpu="4", memory="0")), node) == 50


def test_selector_spread_by_owner_and_service() -> None:
    pods = [make_pod(f"p{i}", owner_uid="rs-1", labels={"app": "web"}, node_name="node-1") for i in range(3)]
    pods.append(make_pod("other-ns", namespace="x", owner_uid="rs-1", node_name="node-1"))
    node = info(make_node(), pods)
    me = PodInfo.of(make_pod(owner_uid="rs-1", labels={"app": "web"}))
    assert selector_spread_count(me, node, ScoreContext()) == 4  # by owner uid (uids are unique cluster-wide)
    loner = PodInfo.of(make_pod(labels={"app": "web"}))
    assert selector_spread_count(loner, node, ScoreContext()) == 0
    assert selector_spread_count(loner, node, ScoreContext([{"app": "web"}])) == 3


def test_preferred_affinity_and_prefer_no_schedule() -> None:
    ssd = {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
    zone = {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}
    pod = PodInfo.of(make_pod(affinity=preferred_affinity((10, ssd), (5, zone))))
    assert preferred_node_affinity(pod, info(make_node(labels={"disk": "ssd", "zone": "a"}))) == 15
    assert preferred_node_affinity(pod, info(make_node(labels={"zone": "a"}))) == 5
    taints = [{"key": "spot", "effect": "PreferNoSchedule"}, {"key": "x", "effect": "NoSchedule"}]
    assert prefer_no_schedule_count(PodInfo.of(make_pod()), info(make_node(taints=taints))) == 1
    tol = PodInfo.of(
        make_pod(tolerations=[{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}])
    )
    assert prefer_no_schedule_count(tol, info(make_node(taints=taints))) == 0
    no_schedule_tol = PodInfo.of(
        make_pod(tolerations=[{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}])
    )
    assert prefer_no_schedule_count(no_schedule_tol, info(make_node(taints=taints))) == 1


def test_normalize() -> None:
    assert normalize([0, 5, 10]) == [0, 50, 100]
    assert normalize([0, 5, 10], reverse=True) == [100, 50, 0]
    assert normalize([0, 0], reverse=True) == [100, 100]
    assert normalize([0, 0]) == [0, 0]


def test_weighted_total_prefers_emptier_and_spread() -> None:
    busy = info(make_node("busy"), [make_pod("a", cpu="3", memory="12Gi", owner_uid="rs", node_name="busy")])
    idle = info(make_node("idle"))
    pod = PodInfo.of(make_pod(cpu="100m", memory="100Mi", owner_uid="rs"))
    busy_score, idle_score = score_nodes(pod, [busy, idle])
    assert idle_score > busy_score
    assert 0 <= busy_score and idle_score <= 100 * (1 + 1 + 2 + 2 + 3)
