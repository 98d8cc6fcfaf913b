"""Exponential backoff: one small object that doubles a delay up to a cap and can be reset.

    Backoff            a single delay sequence (informer relists, leader election retries)
    ItemBackoff        one sequence per key (the work queue's rate limiter), `forget` resets a key

Delays are plain floats in seconds; callers decide whether to sleep, so the type is trivially testable.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(eq=False)
class Backoff:
    """`next()` returns initial, 2*initial, 4*initial, ... capped at `cap`; `reset()` starts over.

    `jitter` adds up to that fraction of the delay at random, so that many clients that failed together do not
    retry together.
    """

    initial: float = 0.2
    cap: float = 5.0
    factor: float = 2.0
    jitter: float = 0.0
    failures: int = field(default=0, init=False)

    def next(self) -> float:
        delay = min(self.cap, self.initial * self.factor**self.failures)
        self.failures += 1
        if self.jitter:
            delay += delay * self.jitter * random.random()
        return delay

    def reset(self) -> None:
        self.failures = 0


class ItemBackoff:
    """Per-key exponential delays (client-go's ItemExponentialFailureRateLimiter: 5 ms doubling to 1000 s)."""

    def __init__(self, initial: float = 0.005, cap: float = 1000.0) -> None:
        self.initial = initial
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        """The delay for this failure of `key`, and count it."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        # Past ~60 doublings the float would overflow long before mattering; the cap applies anyway.
        return self.cap if n > 60 else min(self.cap, self.initial * 2**n)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)
