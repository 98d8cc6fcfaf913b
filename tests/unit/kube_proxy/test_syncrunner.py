"""The sync runner: bursts fold into one sync, at most one per min_interval; failures are retried."""

from __future__ import annotations

import asyncio
import time

from kube_proxy.syncrunner import SyncRunner
from tests.polling import eventually


async def test_a_burst_costs_one_sync_after_the_first() -> None:
    calls: list[float] = []

    async def sync() -> None:
        calls.append(time.monotonic())

    runner = SyncRunner(sync, min_interval=0.3, max_interval=60)
    task = asyncio.create_task(runner.run())
    try:
        runner.request()
        await eventually(lambda: len(calls) == 1, 5.0, 0.01)
        for _ in range(100):  # a burst right after a sync
            runner.request()
            await asyncio.sleep(0)
        await eventually(lambda: len(calls) == 2, 5.0, 0.01)
        await asyncio.sleep(0.5)
        assert len(calls) == 2
        assert calls[1] - calls[0] >= 0.3 - 0.01
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_failure_is_retried_and_periodic_resync_happens() -> None:
    calls = 0

    async def sync() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("iptables-restore failed")

    runner = SyncRunner(sync, min_interval=0.01, max_interval=0.2, retry_interval=0.05)
    task = asyncio.create_task(runner.run())
    try:
        runner.request()
        await eventually(lambda: calls >= 2 and runner.last_success is not None, 5.0, 0.01)
        assert runner.failures == 1
        before = calls
        await eventually(lambda: calls > before, 5.0, 0.01)  # no request: the periodic resync
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
