"""CrashLoopBackOff (and image pull back-off): per-key delays as the kubelet computes them.

A container that exits is restarted at once the first time; after that each restart waits `delay` seconds from
the moment the container finished, the delay doubling from `initial` (10 s) to `cap` (300 s). A key not touched
for `reset_after` seconds (10 minutes, i.e. the container ran that long) starts over from `initial`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class _Entry:
    delay: float
    updated: float


class CrashLoopBackoff:
    def __init__(
        self,
        initial: float = 10.0,
        cap: float = 300.0,
        reset_after: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.reset_after = reset_after
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}

    def _live(self, key: Hashable, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.updated > self.reset_after:
            del self._entries[key]
            return None
        return entry

    def remaining(self, key: Hashable, since: float) -> float:
        """Seconds still to wait before restarting `key`, whose last run ended at `since` (0: go now)."""
        now = self.clock()
        entry = self._live(key, now)
        if entry is None:
            return 0.0
        return max(0.0, since + entry.delay - now)

    def delay(self, key: Hashable) -> float:
        """The current delay for `key` (0 when it has none), for messages like "back-off 20s"."""
        entry = self._live(key, self.clock())
        return entry.delay if entry else 0.0

    def next(self, key: Hashable) -> float:
        """Record a restart of `key` now; returns the delay that the following restart will wait."""
        now = self.clock()
        entry = self._live(key, now)
        delay = self.initial if entry is None else min(entry.delay * 2, self.cap)
        self._entries[key] = _Entry(delay, now)
        return delay

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        """Drop every key that is a tuple starting with `prefix` (a deleted pod's containers)."""
        for key in [k for k in self._entries if isinstance(k, tuple) and k and k[0] == prefix]:
            del self._entries[key]
