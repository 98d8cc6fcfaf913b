from scheduler.algorithm import schedule
from scheduler.cache import SchedulerCache
from scheduler.nodeinfo import PodInfo
from tests.unit.scheduler.factories import make_node, make_pod


def test_assumed_pods_count_until_forgotten() -> None:
    cache = SchedulerCache()
    cache.set_node(make_node("n1", cpu="1"))
    first = PodInfo.of(make_pod("a", cpu="600m"))
    cache.assume(first, "n1")
    assert cache.is_assumed("default/a")
    second = PodInfo.of(make_pod("b", cpu="600m"))
    assert schedule(second, cache.node_infos()).message == "0/1 nodes are available: 1 Insufficient cpu."
    cache.forget("default/a")
    assert schedule(second, cache.node_infos()).node == "n1"


def test_informer_confirms_assumption_without_double_count() -> None:
    cache = SchedulerCache()
    cache.set_node(make_node("n1", cpu="1"))
    cache.assume(PodInfo.of(make_pod("a", cpu="600m")), "n1")
    cache.set_pod(make_pod("a", cpu="600m", node_name="n1"))
    assert not cache.is_assumed("default/a")
    info = cache.node_info("n1")
    assert info is not None and info.requested["cpu"] == 600 and len(info.pods) == 1
    cache.forget("default/a")  # no longer assumed: a late forget changes nothing
    assert info.requested["cpu"] == 600


def test_terminal_pods_free_resources_and_nodes_come_and_go() -> None:
    cache = SchedulerCache()
    pod = make_pod("a", cpu="1", node_name="n1")
    cache.set_pod(pod)  # the pod arrives before its node
    assert cache.node_infos() == []
    cache.set_node(make_node("n1"))
    assert cache.node_infos()[0].requested["cpu"] == 1000
    done = {**pod, "status": {"phase": "Succeeded"}}
    cache.set_pod(done)
    assert cache.node_infos()[0].requested["cpu"] == 0
    cache.set_pod(pod)
    cache.remove_node("n1")
    assert cache.node_infos() == [] and cache.pod_node("default/a") == "n1"
    cache.remove_pod("default/a")
    assert cache.counts() == {"nodes": 0, "pods": 0, "assumed": 0}
