"""WorkQueue and run_workers: dedup, one worker per key, rate limiting, add_after, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from apimachinery.backoff import Backoff, ItemBackoff
from apimachinery.workqueue import QueueShutDown, TerminalError, WorkQueue, run_workers
from tests.polling import eventually


async def test_dedup_while_waiting() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    for key in ["a", "b", "a", "a", "c", "b"]:
        q.add(key)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_readd_while_processing_is_queued_after_done() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    q.add("a")
    key = await q.get()
    q.add("a")
    q.add("a")
    assert len(q) == 0  # not handed out again while processing
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    q.done(key)
    assert await asyncio.wait_for(getter, 1) == "a"
    q.done("a")
    assert len(q) == 0


async def test_no_two_workers_on_one_key() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    active: set[str] = set()
    overlap: list[str] = []
    calls = {"a": 0, "b": 0}

    async def reconcile(key: str) -> None:
        if key in active:
            overlap.append(key)
        active.add(key)
        calls[key] += 1
        await asyncio.sleep(0.01)
        active.discard(key)

    workers = asyncio.create_task(run_workers(q, reconcile, workers=4))
    for _ in range(20):
        q.add("a")
        q.add("b")
        await asyncio.sleep(0.002)
    await eventually(lambda: len(q) == 0 and not active, 5.0, 0.005)
    q.shutdown()
    await asyncio.wait_for(workers, 2)
    assert overlap == []
    assert 1 <= calls["a"] < 20
    assert 1 <= calls["b"] < 20


async def test_errors_requeue_with_backoff_and_success_forgets() -> None:
    q: WorkQueue[str] = WorkQueue("t", rate_limiter=ItemBackoff(initial=0.01, cap=1.0))
    times: list[float] = []

    async def reconcile(key: str) -> None:
        times.append(time.monotonic())
        if len(times) < 4:
            raise RuntimeError("not yet")

    workers = asyncio.create_task(run_workers(q, reconcile, workers=2))
    q.add("k")
    await eventually(lambda: len(times) == 4, 5.0, 0.005)
    await eventually(lambda: q.num_requeues("k") == 0, 5.0, 0.005)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # 10 ms, 20 ms, 40 ms: each retry waits at least its own delay, and they grow.
    assert gaps[0] >= 0.009 and gaps[1] >= 0.019 and gaps[2] >= 0.039
    q.shutdown()
    await asyncio.wait_for(workers, 2)


async def test_terminal_error_is_not_retried() -> None:
    q: WorkQueue[str] = WorkQueue("t", rate_limiter=ItemBackoff(initial=0.001))
    calls: list[str] = []

    async def reconcile(key: str) -> None:
        calls.append(key)
        raise TerminalError("bad spec")

    workers = asyncio.create_task(run_workers(q, reconcile))
    q.add("x")
    await eventually(lambda: calls == ["x"], 5.0, 0.005)
    await asyncio.sleep(0.05)
    assert calls == ["x"] and len(q) == 0 and q.num_requeues("x") == 0
    q.shutdown()
    await asyncio.wait_for(workers, 2)


def test_item_backoff_doubles_to_cap_and_forget_resets() -> None:
    rl = ItemBackoff()
    delays = [rl.when("k") for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1000.0 and max(delays) == 1000.0
    assert rl.when("other") == 0.005
    assert rl.num_requeues("k") == 20
    rl.forget("k")
    assert rl.num_requeues("k") == 0 and rl.when("k") == 0.005
    assert rl.when("k") == 0.01
    for _ in range(200):
        assert rl.when("k") <= 1000.0


def test_backoff_sequence() -> None:
    b = Backoff(initial=0.2, cap=5.0)
    assert [b.next() for _ in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    b.reset()
    assert b.next() == 0.2


async def test_add_after_earliest_wins() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    start = time.monotonic()
    q.add_after("a", 0.5)
    q.add_after("a", 0.05)  # earlier: replaces
    q.add_after("a", 1.0)  # later: ignored
    q.add_after("b", 0.1)
    assert len(q) == 0
    assert await asyncio.wait_for(q.get(), 2) == "a"
    assert 0.04 <= time.monotonic() - start < 0.45  # before the replaced 0.5 s timer
    assert await asyncio.wait_for(q.get(), 2) == "b"
    assert time.monotonic() - start >= 0.09
    q.done("a")
    q.done("b")
    await asyncio.sleep(0.6)
    assert len(q) == 0  # the replaced timers did not fire later


async def test_add_after_zero_adds_now() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    q.add_after("a", 0)
    assert len(q) == 1


async def test_shutdown_drains_then_raises_and_wakes_waiters() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    q.shutdown()
    with pytest.raises(QueueShutDown):
        await asyncio.wait_for(waiter, 1)

    q2: WorkQueue[str] = WorkQueue("t")
    q2.add("a")
    q2.add_after("later", 0.01)
    q2.shutdown()
    q2.add("b")  # ignored
    assert await q2.get() == "a"
    with pytest.raises(QueueShutDown):
        await q2.get()


async def test_cancelled_getter_passes_wakeup_on() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    g1 = asyncio.create_task(q.get())
    g2 = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    q.add("a")  # wakes g1 ...
    g1.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(g2, 1) == "a"
    with pytest.raises(asyncio.CancelledError):
        await g1


async def test_run_workers_stops_on_cancel() -> None:
    q: WorkQueue[str] = WorkQueue("t")
    started = asyncio.Event()

    async def reconcile(key: str) -> None:
        started.set()
        await asyncio.sleep(10)

    workers = asyncio.create_task(run_workers(q, reconcile, workers=3))
    q.add("a")
    await asyncio.wait_for(started.wait(), 1)
    workers.cancel()
    with pytest.raises(asyncio.CancelledError):
        await workers
