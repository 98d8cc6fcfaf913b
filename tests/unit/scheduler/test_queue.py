import asyncio

import pytest

from scheduler.queue import QueueClosed, SchedulingQueue
from tests.unit.scheduler.factories import make_pod


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def prioritized(name: str, priority: int) -> dict:
    pod = make_pod(name)
    pod["spec"]["priority"] = priority
    return pod


async def pop_now(queue: SchedulingQueue):
    return await asyncio.wait_for(queue.pop(), 1)


async def test_active_order_priority_then_time() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock)
    queue.add(make_pod("a"))
    clock.now += 1
    queue.add(prioritized("b", 10))
    clock.now += 1
    queue.add(make_pod("c"))
    queue.add(make_pod("a"))  # a duplicate add changes nothing
    assert [(await pop_now(queue)).key for _ in range(3)] == ["default/b", "default/a", "default/c"]
    assert queue.lengths() == {"active": 0, "backoff": 0, "unschedulable": 0}


async def test_unschedulable_waits_for_an_event_not_for_time() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock)
    queue.add(make_pod("a"))
    queued = await pop_now(queue)
    queue.add_unschedulable(queued, "0/1 nodes are available")
    assert queue.lengths()["unschedulable"] == 1
    clock.now += 60  # backoff long over: still parked, nothing polls it
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.pop(), 0.05)
    assert queue.move_all_to_active_or_backoff("NodeAdd") == 1
    assert (await pop_now(queue)).key == "default/a"


async def test_event_during_backoff_goes_to_backoff_queue_first() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock)
    queue.add(make_pod("a"))
    queued = await pop_now(queue)
    queue.add_unschedulable(queued)
    queue.move_all_to_active_or_backoff("NodeAdd")  # at once: still within its 1 s backoff
    assert queue.lengths() == {"active": 0, "backoff": 1, "unschedulable": 0}
    clock.now += 1.0
    assert (await pop_now(queue)).attempts == 2


async def test_event_while_in_flight_sends_failure_to_backoff() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock)
    queue.add(make_pod("a"))
    queued = await pop_now(queue)
    queue.move_all_to_active_or_backoff("NodeAdd")  # a node arrived while we were deciding
    queue.add_unschedulable(queued)
    assert queue.lengths() == {"active": 0, "backoff": 1, "unschedulable": 0}


def test_backoff_doubles_to_ten_seconds() -> None:
    queue = SchedulingQueue()
    assert [queue.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


async def test_backoff_pop_waits_real_time() -> None:
    queue = SchedulingQueue(initial_backoff=0.05)
    queue.add(make_pod("a"))
    queued = await pop_now(queue)
    queue.add_backoff(queued, "bind failed")
    loop = asyncio.get_running_loop()
    started = loop.time()
    again = await pop_now(queue)
    assert again.key == "default/a" and loop.time() - started >= 0.04


async def test_spec_update_moves_unschedulable_pod_but_status_update_does_not() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock)
    pod = make_pod("a")
    queue.add(pod)
    queue.add_unschedulable(await pop_now(queue))
    clock.now += 5
    with_status = {**pod, "status": {"conditions": [{"type": "PodScheduled", "status": "False"}]}}
    queue.update(with_status)
    assert queue.is_unschedulable("default/a")
    queue.update(make_pod("a", node_selector={"disk": "ssd"}))
    assert not queue.is_unschedulable("default/a")
    assert (await pop_now(queue)).pod["spec"]["nodeSelector"] == {"disk": "ssd"}


async def test_leftover_unschedulable_pods_flushed_after_timeout() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock, unschedulable_timeout=300)
    queue.add(make_pod("a"))
    queue.add_unschedulable(await pop_now(queue))
    clock.now += 301
    assert (await pop_now(queue)).key == "default/a"


async def test_delete_everywhere_and_close() -> None:
    queue = SchedulingQueue()
    queue.add(make_pod("a"))
    queue.delete("default/a")
    queue.add(make_pod("b"))
    queued = await pop_now(queue)
    queue.delete("default/b")  # deleted while in flight: a late verdict is dropped
    queue.add_unschedulable(queued)
    assert queue.lengths() == {"active": 0, "backoff": 0, "unschedulable": 0}
    waiter = asyncio.create_task(queue.pop())
    await asyncio.sleep(0)
    queue.close()
    with pytest.raises(QueueClosed):
        await waiter
