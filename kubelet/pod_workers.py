"""Pod workers: one asyncio task per pod, so a pod's syncs never overlap while pods sync in parallel.

`update(uid)` wakes (or creates) the pod's worker. A worker runs `sync(uid)` when woken, when the delay that the
last sync asked for has passed, and every `resync_interval` seconds as a safety net. It ends when sync returns
DONE. A sync that raises is retried after a growing delay (0.5 s doubling to 10 s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from apimachinery.backoff import Backoff
from apimachinery.tasks import cancel_and_wait

log = logging.getLogger("kubelet.workers")

DONE = -1.0


class PodWorkers:
    def __init__(self, sync: Callable[[str], Awaitable[float | None]], resync_interval: float = 10.0) -> None:
        self.sync = sync
        self.resync_interval = resync_interval
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def update(self, uid: str) -> None:
        event = self._wake.get(uid)
        if event is None:
            event = self._wake[uid] = asyncio.Event()
            self._tasks[uid] = asyncio.create_task(self._run(uid, event), name=f"pod-worker-{uid}")
        event.set()

    def uids(self) -> list[str]:
        return list(self._tasks)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks.values())
        self._tasks.clear()
        self._wake.clear()

    async def _run(self, uid: str, event: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        errors = Backoff(initial=0.5, cap=10.0)
        timer: asyncio.TimerHandle | None = None
        try:
            while True:
                try:
                    await asyncio.wait_for(event.wait(), self.resync_interval)
                except TimeoutError:
                    pass
                event.clear()
                if timer is not None:
                    timer.cancel()
                    timer = None
                try:
                    result = await self.sync(uid)
                    errors.reset()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    result = errors.next()
                    log.exception("sync of pod %s failed, retrying in %.1fs", uid, result)
                if result == DONE:
                    return
                if result is not None:
                    timer = loop.call_later(max(0.05, result), event.set)
        finally:
            if timer is not None:
                timer.cancel()
            if self._wake.get(uid) is event:
                del self._wake[uid]
                self._tasks.pop(uid, None)
