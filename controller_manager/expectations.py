"""Controller expectations: what a controller has asked for and not yet seen in its cache.

After a ReplicaSet creates 10 pods, its informer may show only 3 of them for a while; syncing then would create 7
more. So the controller records "expect 10 creations" and does not manage replicas again for that key until the
informer has observed them all, or until a timeout passes (a lost watch event must not wedge the key forever).
Deletions are tracked by pod key, so that observing the same deletion twice (deletionTimestamp, then the DELETED
event) counts once (Kubernetes' UIDTrackingControllerExpectations).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

DEFAULT_TTL = 300.0


@dataclass
class _Expectation:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    stamp: float = 0.0


class Expectations:
    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._items: dict[str, _Expectation] = {}

    def expect_creations(self, key: str, count: int) -> None:
        self._items[key] = _Expectation(adds=count, stamp=self.clock())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        self._items[key] = _Expectation(deletes=set(pod_keys), stamp=self.clock())

    def expect(self, key: str, creations: int, deletions: Iterable[str]) -> None:
        """Creations and deletions asked for in one go (a DaemonSet creates on some nodes, deletes on others)."""
        self._items[key] = _Expectation(adds=creations, deletes=set(deletions), stamp=self.clock())

    def creation_observed(self, key: str) -> None:
        exp = self._items.get(key)
        if exp and exp.adds > 0:
            exp.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        exp = self._items.get(key)
        if exp:
            exp.deletes.discard(pod_key)

    def satisfied(self, key: str) -> bool:
        """True when nothing is outstanding, nothing was ever recorded, or the record has expired."""
        exp = self._items.get(key)
        if exp is None:
            return True
        if exp.adds <= 0 and not exp.deletes:
            return True
        return self.clock() - exp.stamp > self.ttl

    def pending(self, key: str) -> tuple[int, int]:
        exp = self._items.get(key)
        return (exp.adds, len(exp.deletes)) if exp else (0, 0)

    def delete(self, key: str) -> None:
        self._items.pop(key, None)
