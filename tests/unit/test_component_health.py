"""Components' /healthz reflects their work: a work queue that makes no progress fails it (controller-manager),
caches not synced yet fail it while leading."""

from __future__ import annotations

import asyncio
import time

import pytest

from apimachinery.informer import InformerFactory
from apimachinery.workqueue import WorkQueue
from controller_manager import manager as cm


def test_stalled_for_counts_waiting_and_processing_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        clock = [1000.0]
        monkeypatch.setattr(time, "monotonic", lambda: clock[0])
        q: WorkQueue[str] = WorkQueue("stall-test")
        assert q.stalled_for() == 0.0
        q.add("a")
        clock[0] += 30
        assert q.stalled_for() == 30.0  # waiting, no worker took it
        key = await q.get()
        clock[0] += 5
        assert q.stalled_for() == 5.0  # now in work for 5 s
        q.done(key)
        assert q.stalled_for() == 0.0

    asyncio.run(scenario())


class _Controller:
    def __init__(self, name: str, stalled: float) -> None:
        self.name = name
        self.queue = type("Q", (), {"stalled_for": lambda _self: stalled})()


def test_controller_manager_healthz() -> None:
    manager = cm.ControllerManager.__new__(cm.ControllerManager)
    manager.controllers = []
    manager.factory = None
    manager.leading, manager.synced = False, False
    assert manager.healthy()  # stand-by
    manager.leading = True
    assert not manager.healthy()  # leading, caches not synced yet
    manager.synced = True
    manager.controllers = [_Controller("deployment", 1.0)]  # type: ignore[list-item]
    assert manager.healthy()
    manager.controllers.append(_Controller("job", cm.STALL_AFTER + 1))  # type: ignore[arg-type]
    assert not manager.healthy()


class _Client:
    pass


async def test_informer_factory_running_until_an_informer_dies() -> None:
    factory = InformerFactory(_Client())  # type: ignore[arg-type]
    assert not factory.running()  # not started
    factory._started = True
    alive = asyncio.get_running_loop().create_future()
    factory._tasks[1] = asyncio.ensure_future(alive)
    assert factory.running()
    alive.set_exception(RuntimeError("watch failed for good"))
    await asyncio.sleep(0)
    assert not factory.running()
    factory._tasks[1].exception()
