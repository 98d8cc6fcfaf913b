"""The informer handlers route pods and nodes to the queue and the cache (no I/O happens in them)."""

from collections.abc import AsyncIterator

import pytest

from apimachinery.client import Client
from scheduler.nodeinfo import PodInfo
from scheduler.queue import SchedulingQueue
from scheduler.scheduler import Scheduler, binding, node_changed
from tests.unit.scheduler.factories import make_node, make_pod


@pytest.fixture
async def sched() -> AsyncIterator[Scheduler]:
    client = Client("http://127.0.0.1:9")  # never contacted: only handlers run
    yield Scheduler(client, queue=SchedulingQueue(initial_backoff=0.001))
    await client.aclose()


async def test_pending_pods_queue_and_others_do_not(sched: Scheduler) -> None:
    sched._on_pod_add(make_pod("mine"))
    other = make_pod("theirs")
    other["spec"]["schedulerName"] = "someone-else"
    sched._on_pod_add(other)
    sched._on_pod_add(make_pod("bound", cpu="1", node_name="n1"))
    assert sched.queue.pending_keys() == {"default/mine"}
    assert sched.cache.pod_node("default/bound") == "n1"


async def test_binding_confirmed_by_update_leaves_queue(sched: Scheduler) -> None:
    pending = make_pod("p", cpu="1")
    sched._on_pod_add(pending)
    sched.cache.set_node(make_node("n1"))
    sched.cache.assume(PodInfo.of(pending), "n1")
    sched._on_pod_update(pending, {**pending, "status": {"phase": "Pending"}})  # ignored while assumed
    bound = make_pod("p", cpu="1", node_name="n1")
    sched._on_pod_update(pending, bound)
    assert not sched.cache.is_assumed("default/p") and "default/p" not in sched.queue.pending_keys()
    sched._on_pod_delete(bound)
    assert sched.cache.pod_node("default/p") is None


async def test_node_events_wake_unschedulable_pods(sched: Scheduler) -> None:
    sched._on_pod_add(make_pod("p"))
    sched.queue.add_unschedulable(await sched.queue.pop())
    node = make_node("n1")
    sched._on_node_add(node)
    assert sched.queue.lengths()["unschedulable"] == 0
    sched.queue.add_unschedulable(await sched.queue.pop())
    beat = {
        **node,
        "status": {
            **node["status"],
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t"}],
        },
    }
    sched._on_node_update(node, beat)
    assert sched.queue.lengths()["unschedulable"] == 1  # a heartbeat cannot make a pod fit
    sched._on_node_update(beat, make_node("n1", labels={"disk": "ssd"}))
    assert sched.queue.lengths()["unschedulable"] == 0


def test_node_changed_ignores_heartbeats() -> None:
    node = make_node("n1")
    beat = {
        **node,
        "status": {
            **node["status"],
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t2"}],
        },
    }
    assert not node_changed(node, beat)
    assert node_changed(node, make_node("n1", ready="False"))
    assert node_changed(node, make_node("n1", labels={"a": "b"}))
    assert node_changed(node, make_node("n1", unschedulable=True))


def test_binding_body() -> None:
    pod = make_pod("web-1", namespace="default")
    assert binding(pod, "node-2") == {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web-1", "namespace": "default", "uid": None},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-2"},
    }
