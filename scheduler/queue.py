"""The scheduling queue: pending pods waiting for a scheduling attempt, in three parts (as in Kubernetes).

* active: pods ready to be tried, ordered by priority (higher first), then by the time they were queued.
* backoff: pods that failed recently and wait out their backoff (1 s, doubling per attempt, at most 10 s).
* unschedulable: pods that fit no node. They move back (to active, or to backoff while backing off) only
  when the cluster changes in a way that could help - a node added or changed, a pod deleted - never by
  polling. As Kubernetes does, a pod that has sat there for 5 minutes is retried anyway.

A pod taken by `pop` is "in flight" until the scheduler calls `done` (assumed), `add_unschedulable` or
`add_backoff` for it. If a cluster event arrived while it was in flight, an unschedulable verdict sends it to
backoff rather than to the unschedulable set, so the event that might have helped it is not lost.
The queue lives on one asyncio loop and is not thread-safe.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scheduler.nodeinfo import PodInfo

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
UNSCHEDULABLE_TIMEOUT = 300.0


class QueueClosed(Exception):
    """The queue was closed; no more pods will come."""


@dataclass
class QueuedPod:
    info: PodInfo
    timestamp: float  # when it last entered the queue (orders the active heap within a priority)
    initial_timestamp: float  # when it was first queued (start of the end-to-end latency)
    attempts: int = 0
    backoff_until: float = 0.0
    cycle: int = 0  # scheduling cycle of its last pop
    unschedulable_since: float = 0.0
    last_failure: str = field(default="")
    seq: int = 0  # identifies its live heap entry; older entries for the same key are skipped

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def pod(self) -> dict[str, Any]:
        return self.info.pod

    @property
    def priority(self) -> int:
        return int((self.info.pod.get("spec") or {}).get("priority") or 0)


def spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an update could change the scheduling outcome (status and bookkeeping changes cannot)."""
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return (
        old.get("spec") != new.get("spec")
        or old_meta.get("labels") != new_meta.get("labels")
        or old_meta.get("annotations") != new_meta.get("annotations")
    )


class SchedulingQueue:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        initial_backoff: float = INITIAL_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        unschedulable_timeout: float = UNSCHEDULABLE_TIMEOUT,
    ) -> None:
        self._clock = clock
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._unschedulable_timeout = unschedulable_timeout
        self._seq = itertools.count()
        self._active: dict[str, QueuedPod] = {}
        self._active_heap: list[tuple[int, float, int, str]] = []
        self._backoff: dict[str, QueuedPod] = {}
        self._backoff_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPod] = {}
        self._in_flight: dict[str, QueuedPod] = {}
        self._cycle = 0
        self._move_request_cycle = -1
        self._wakeup = asyncio.Event()
        self._closed = False

    # --- events from the informers -------------------------------------------------------------------------

    def add(self, pod: dict[str, Any]) -> None:
        """A new pending pod (or one seen again after a relist): queue it unless it is already known."""
        info = PodInfo.of(pod)
        if self._find(info.key) is not None:
            self.update(pod)
            return
        now = self._clock()
        self._push_active(QueuedPod(info, now, now))

    def update(self, pod: dict[str, Any]) -> None:
        """The pending pod changed. A spec/label change makes an unschedulable pod worth trying again."""
        info = PodInfo.of(pod)
        queued = self._find(info.key)
        if queued is None:
            self.add(pod)
            return
        changed = spec_changed(queued.pod, pod)
        queued.info = info
        if changed and info.key in self._unschedulable:
            del self._unschedulable[info.key]
            self._requeue(queued)

    def delete(self, key: str) -> None:
        """The pod is gone or no longer pending (bound, deleted, terminal): forget it everywhere."""
        self._active.pop(key, None)
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
        self._in_flight.pop(key, None)

    def move_all_to_active_or_backoff(self, event: str = "") -> int:
        """A cluster event that may make unschedulable pods fit: retry all of them. Returns how many moved."""
        self._move_request_cycle = self._cycle
        moved = list(self._unschedulable.values())
        self._unschedulable.clear()
        for queued in moved:
            self._requeue(queued)
        return len(moved)

    # --- the scheduler's side --------------------------------------------------------------------------------

    async def pop(self) -> QueuedPod:
        """The next pod to try (waits for one). Raises QueueClosed after `close`."""
        while True:
            if self._closed:
                raise QueueClosed()
            self._wakeup.clear()
            now = self._clock()
            self._flush(now)
            while self._active_heap:
                _prio, _ts, seq, key = heapq.heappop(self._active_heap)
                queued = self._active.get(key)
                if queued is None or queued.seq != seq:
                    continue  # stale heap entry
                del self._active[key]
                self._cycle += 1
                queued.cycle = self._cycle
                queued.attempts += 1
                self._in_flight[key] = queued
                return queued
            timeout = self._next_deadline(now)
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                pass

    def in_flight(self, key: str) -> QueuedPod | None:
        return self._in_flight.get(key)

    def done(self, key: str) -> None:
        """The in-flight pod was assumed onto a node; the queue is done with it."""
        self._in_flight.pop(key, None)

    def add_unschedulable(self, queued: QueuedPod, message: str = "") -> None:
        """No node fits. Park the pod until a cluster event (or back off, if one came in the meantime)."""
        if self._in_flight.pop(queued.key, None) is None:
            return  # deleted or bound while it was being tried
        queued.last_failure = message
        now = self._clock()
        queued.timestamp = now
        queued.backoff_until = now + self.backoff_duration(queued.attempts)
        if self._move_request_cycle >= queued.cycle:
            self._push_backoff(queued)
        else:
            queued.unschedulable_since = now
            self._unschedulable[queued.key] = queued

    def add_backoff(self, queued: QueuedPod, message: str = "") -> None:
        """An error (e.g. a failed bind): try again after the pod's backoff."""
        self._in_flight.pop(queued.key, None)
        if self._find(queued.key) is not None:
            return
        queued.last_failure = message
        now = self._clock()
        queued.timestamp = now
        queued.backoff_until = now + self.backoff_duration(queued.attempts)
        self._push_backoff(queued)

    def backoff_duration(self, attempts: int) -> float:
        duration = self._initial_backoff * (2 ** max(0, attempts - 1))
        return min(duration, self._max_backoff)

    def lengths(self) -> dict[str, int]:
        return {
            "active": len(self._active),
            "backoff": len(self._backoff),
            "unschedulable": len(self._unschedulable),
        }

    def pending_keys(self) -> set[str]:
        return set(self._active) | set(self._backoff) | set(self._unschedulable)

    def is_unschedulable(self, key: str) -> bool:
        return key in self._unschedulable

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    # --- internals -----------------------------------------------------------------------------------------

    def _find(self, key: str) -> QueuedPod | None:
        return (
            self._active.get(key)
            or self._backoff.get(key)
            or self._unschedulable.get(key)
            or self._in_flight.get(key)
        )

    def _push_active(self, queued: QueuedPod) -> None:
        seq = queued.seq = next(self._seq)
        self._backoff.pop(queued.key, None)
        self._active[queued.key] = queued
        heapq.heappush(self._active_heap, (-queued.priority, queued.timestamp, seq, queued.key))
        self._wakeup.set()

    def _push_backoff(self, queued: QueuedPod) -> None:
        seq = queued.seq = next(self._seq)
        self._backoff[queued.key] = queued
        heapq.heappush(self._backoff_heap, (queued.backoff_until, seq, queued.key))
        self._wakeup.set()

    def _requeue(self, queued: QueuedPod) -> None:
        if queued.backoff_until > self._clock():
            self._push_backoff(queued)
        else:
            self._push_active(queued)

    def _flush(self, now: float) -> None:
        while self._backoff_heap and self._backoff_heap[0][0] <= now:
            _until, seq, key = heapq.heappop(self._backoff_heap)
            queued = self._backoff.get(key)
            if queued is None or queued.seq != seq:
                continue
            del self._backoff[key]
            self._push_active(queued)
        stale = [
            q
            for q in self._unschedulable.values()
            if now - q.unschedulable_since >= self._unschedulable_timeout
        ]
        for queued in stale:
            del self._unschedulable[queued.key]
            self._requeue(queued)

    def _next_deadline(self, now: float) -> float | None:
        deadlines = []
        while self._backoff_heap:
            until, seq, key = self._backoff_heap[0]
            queued = self._backoff.get(key)
            if queued is not None and queued.seq == seq:
                deadlines.append(until)
                break
            heapq.heappop(self._backoff_heap)
        if self._unschedulable:
            deadlines.append(
                min(q.unschedulable_since for q in self._unschedulable.values()) + self._unschedulable_timeout
            )
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)
