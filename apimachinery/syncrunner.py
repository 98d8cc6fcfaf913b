"""Run a sync function when asked, at most once per `min_interval`, and at least once per `max_interval`.

Requests that arrive while a sync waits or runs fold into one more sync, so a burst of changes costs one rewrite
(kube-proxy's BoundedFrequencyRunner, reduced to what kube-proxy and the policy agent use). The first request after
a quiet spell runs at once. A sync that raises is retried after `retry_interval`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

    from apimachinery.informer import InformerFactory

log = logging.getLogger("apimachinery.syncrunner")


class SyncMetrics(Protocol):
    """What a component that syncs a data plane counts (kube-proxy and the policy agent, each under its names)."""

    @property
    def sync_duration(self) -> Histogram: ...
    @property
    def sync_failures(self) -> Counter: ...
    @property
    def last_sync(self) -> Gauge: ...


@dataclass
class SyncTimer:
    start: float  # time.monotonic() when the sync began
    elapsed: float = 0.0  # seconds it took, once it succeeded


@contextmanager
def timed_sync(metrics: SyncMetrics, start: float) -> Iterator[SyncTimer]:
    """Count the sync in the block: a failure (re-raised), or its duration since `start` and the time it ended."""
    timer = SyncTimer(start)
    try:
        yield timer
    except Exception:
        metrics.sync_failures.inc()
        raise
    timer.elapsed = time.monotonic() - start
    metrics.sync_duration.observe(timer.elapsed)
    metrics.last_sync.set(time.time())


@dataclass(eq=False)
class SyncRunner:
    fn: Callable[[], Awaitable[None]]
    _: KW_ONLY
    min_interval: float = 1.0
    max_interval: float = 30.0
    retry_interval: float = 1.0
    runs: int = field(default=0, init=False)
    failures: int = field(default=0, init=False)
    last_success: float | None = field(
        default=None, init=False
    )  # monotonic time of the last sync that worked
    _wanted: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _last: float = field(default=float("-inf"), init=False)

    def request(self) -> None:
        """Ask for a sync; cheap, callable from any handler."""
        self._wanted.set()

    async def run(self) -> None:
        """Loop until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self._wanted.wait(), self.max_interval)
            except TimeoutError:
                pass  # periodic resync: repairs rules someone else removed
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._wanted.clear()
            self._last = time.monotonic()
            self.runs += 1
            try:
                await self.fn()
                self.last_success = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("sync failed, retrying", extra={"retry_in": self.retry_interval})
                asyncio.get_running_loop().call_later(self.retry_interval, self._wanted.set)

    async def run_informed(self, factory: InformerFactory, synced: dict[str, Any]) -> None:
        """Start `factory`'s informers and, once their caches are filled (logged with `synced`), sync at once and
        then as asked until cancelled; the informers stop on the way out. kube-proxy and the policy agent."""
        factory.start()
        runner: asyncio.Task[None] | None = None
        try:
            await factory.wait_synced()
            log.info("informers synced", extra=synced)
            runner = asyncio.create_task(self.run(), name="sync-runner")
            self.request()
            await runner
        finally:
            if runner is not None:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
            await factory.stop()
