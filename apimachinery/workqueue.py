"""A rate-limited work queue of keys, shaped like client-go's workqueue, for one asyncio event loop.

Contract:
* A key waits in the queue at most once (adding it again while it waits changes nothing).
* A key handed out by `get()` is *processing* until `done(key)`. It is never handed to a second worker meanwhile;
  if it is added again while processing, it is queued again when `done` is called.
* `add_after(key, delay)` adds it later (the earliest pending time wins); `add_rate_limited(key)` adds it after
  its own exponential delay (5 ms doubling to 1000 s), which `forget(key)` resets.
* After `shutdown()`, `add` is ignored, and `get()` raises `QueueShutDown` once the queue is empty.

`run_workers` is the standard loop: get -> `await reconcile(key)` -> forget on success, requeue with backoff on
error (not for `TerminalError`) -> done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from apimachinery.backoff import ItemBackoff

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

# client-go's workqueue metrics (k8s.io/component-base/metrics/prometheus/workqueue): names, labels, buckets.
DEPTH = Gauge("workqueue_depth", "Current depth of workqueue", ["name"])
ADDS = Counter("workqueue_adds_total", "Total number of adds handled by workqueue", ["name"])
RETRIES = Counter("workqueue_retries_total", "Total number of retries handled by workqueue", ["name"])
_DURATION_BUCKETS = tuple(
    10e-9 * 10**i for i in range(10)
)  # 10 ns .. 1000 s (ExponentialBuckets(10e-9, 10, 10))
QUEUE_DURATION = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.",
    ["name"],
    buckets=_DURATION_BUCKETS,
)
WORK_DURATION = Histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
    ["name"],
    buckets=_DURATION_BUCKETS,
)
UNFINISHED = Gauge(
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has done that is in progress and hasn't been observed by work_duration. Large "
    "values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which "
    "this increases.",
    ["name"],
)
LONGEST = Gauge(
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running.",
    ["name"],
)


class QueueShutDown(Exception):
    """The queue has been shut down and is empty."""


class TerminalError(Exception):
    """Raised by a reconcile function for an error that retrying cannot fix: logged, never requeued."""


class WorkQueue(Generic[K]):
    def __init__(self, name: str = "", rate_limiter: ItemBackoff | None = None) -> None:
        self.name = name
        self.rate_limiter = rate_limiter or ItemBackoff()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()  # waiting in _queue, or re-added while processing
        self._processing: set[K] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._delayed: dict[K, asyncio.TimerHandle] = {}
        self._shutting_down = False
        self._queued_at: dict[K, float] = {}  # since when each waiting key waits
        self._started_at: dict[K, float] = {}  # since when each processing key is processed
        # Every series of the queue exists from its start, as client-go registers them.
        for metric in (DEPTH, ADDS, RETRIES, QUEUE_DURATION, WORK_DURATION):
            metric.labels(name)
        UNFINISHED.labels(name).set_function(self._unfinished_seconds)
        LONGEST.labels(name).set_function(self._longest_seconds)

    def _unfinished_seconds(self) -> float:
        now = time.monotonic()
        return sum(now - t for t in self._started_at.values())

    def _longest_seconds(self) -> float:
        now = time.monotonic()
        return max((now - t for t in self._started_at.values()), default=0.0)

    def stalled_for(self) -> float:
        """Seconds the queue has gone without progress: the longest a key has waited or been processed (0 when
        idle). A component's /healthz fails past a limit: its workers are stuck (DESIGN.md, operability)."""
        now = time.monotonic()
        waiting = max((now - t for t in self._queued_at.values()), default=0.0)
        return max(waiting, self._longest_seconds())

    def _enqueue(self, key: K) -> None:
        self._queue.append(key)
        self._queued_at.setdefault(key, time.monotonic())
        DEPTH.labels(self.name).set(len(self._queue))

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        ADDS.labels(self.name).inc()
        if key in self._processing:
            return  # queued again by done()
        self._enqueue(key)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def add_after(self, key: K, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        pending = self._delayed.get(key)
        if pending is not None:
            if pending.when() <= when:
                return
            pending.cancel()
        self._delayed[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: K) -> None:
        self._delayed.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> None:
        RETRIES.labels(self.name).inc()
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: K) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)

    async def get(self) -> K:
        """The next key, now processing; waits while the queue is empty. `QueueShutDown` when shut down."""
        while not self._queue:
            if self._shutting_down:
                raise QueueShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                # We may have been woken and cancelled at once: pass the wake-up on, or a key would wait idle.
                if fut.done() and not fut.cancelled():
                    self._wake_one()
                raise
        key = self._queue.popleft()
        DEPTH.labels(self.name).set(len(self._queue))
        now = time.monotonic()
        QUEUE_DURATION.labels(self.name).observe(now - self._queued_at.pop(key, now))
        self._started_at[key] = now
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        started = self._started_at.pop(key, None)
        if started is not None:
            WORK_DURATION.labels(self.name).observe(time.monotonic() - started)
        if key in self._dirty:
            self._enqueue(key)
            self._wake_one()

    def shutdown(self) -> None:
        """Stop accepting keys; drop delayed ones; wake every waiting `get()`."""
        self._shutting_down = True
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)


async def _worker(queue: WorkQueue[K], reconcile: Callable[[K], Awaitable[object]]) -> None:
    while True:
        try:
            key = await queue.get()
        except QueueShutDown:
            return
        try:
            await reconcile(key)
        except asyncio.CancelledError:
            raise
        except TerminalError:
            log.exception("reconcile failed permanently", extra={"queue": queue.name, "key": str(key)})
            queue.forget(key)
        except Exception:
            log.exception(
                "reconcile failed, requeuing",
                extra={"queue": queue.name, "key": str(key), "requeues": queue.num_requeues(key)},
            )
            queue.add_rate_limited(key)
        else:
            queue.forget(key)
        finally:
            queue.done(key)


async def run_workers(
    queue: WorkQueue[K], reconcile: Callable[[K], Awaitable[object]], workers: int = 1
) -> None:
    """Run `workers` concurrent reconcile loops until the queue shuts down (or this task is cancelled)."""
    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(_worker(queue, reconcile))
