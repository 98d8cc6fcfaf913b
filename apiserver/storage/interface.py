"""The storage interface, shaped like Kubernetes' `storage.Interface` (k8s.io/apiserver/pkg/storage).

Objects are JSON-able dicts. A backend stores them whole under string keys (`/registry/pods/default/web`) and stamps
`metadata.resourceVersion` with the key's modification revision (etcd's mod_revision) on everything it returns.
Revisions are global and increase with every write, so the revision of a list is a consistent point to watch from.

Contract, shared by every backend and checked by tests/integration/storage/test_conformance.py:

* `get` raises StorageError(NOT_FOUND).
* `create` is put-if-absent: StorageError(EXISTS) when the key is there.
* `delete` removes and returns the last state, stamped with the deletion's revision; `expected_revision` (when
  not None) is a precondition: StorageError(CONFLICT) when the object's mod revision differs.
* `guaranteed_update(key, try_update)` reads the current object (None when absent and `ignore_not_found`), calls
  `try_update(current)` which returns the new object (or raises to abort), and writes it only if the key's revision
  is still the one read (compare-and-swap), retrying the whole read-change-write on a lost race. A result equal to
  the current object is not written and the current object is returned. `try_update` may be called several times.
  `cached` (optional: a recent state of the object, e.g. the watch cache's) is tried first instead of a read, as
  kube-apiserver's GuaranteedUpdate does with its cached existing object: a stale one only costs a retry from the
  stored state (and is never answered as "unchanged"). A backend may ignore it.
* `list(prefix, limit=N, continue_token=...)` pages in key order at one revision; the continue token carries that
  revision; `revision=R` reads at revision R (StorageError(COMPACTED) when compacted away).
* `watch(prefix, from_revision)` yields every change with revision >= from_revision, in order, then live changes;
  from_revision=0 means "from now". StorageError(COMPACTED) when from_revision is compacted away.
  A dropped connection is retried transparently from the last revision seen + 1.
* StorageError(UNAVAILABLE) when the backend cannot be reached within its request timeout.
* A stored value that does not decode is StorageError(CORRUPT) for `get` and the writes; `list` and `watch`
  leave it out (with a log line), so one bad value written past the apiserver cannot fail every reader.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

Obj = dict[str, Any]


class ErrorCode(enum.Enum):
    NOT_FOUND = "NotFound"
    EXISTS = "Exists"
    CONFLICT = "Conflict"
    COMPACTED = "Compacted"
    UNAVAILABLE = "Unavailable"
    INVALID = "Invalid"
    TOO_LARGE = "TooLarge"  # the backend refused a value over its size limit
    CORRUPT = "Corrupt"  # a stored value that does not decode (written past the apiserver)


class StorageError(Exception):
    """A storage failure with a code; the apiserver maps codes to Kubernetes Status reasons."""

    def __init__(self, code: ErrorCode, key: str = "", message: str = "", *, revision: int = 0) -> None:
        super().__init__(message or f"{code.value}: {key}")
        self.code = code
        self.key = key
        # For COMPACTED: the oldest revision still available.
        self.revision = revision


@dataclass(frozen=True)
class KeyValue:
    key: str
    obj: Obj  # metadata.resourceVersion already set to str(mod_revision)
    mod_revision: int


@dataclass(frozen=True)
class ListResult:
    items: list[KeyValue]
    revision: int  # the store revision the list was read at
    continue_token: str | None = None  # opaque; None when there is nothing more
    remaining: int | None = None  # remainingItemCount, when known


@dataclass(frozen=True)
class WatchEvent:
    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    key: str
    obj: Obj  # for DELETED: the last state, resourceVersion = the deletion revision
    revision: int
    prev_obj: Obj | None = None


TryUpdate = Callable[[Obj | None], Obj]


class Storage(Protocol):
    async def get(self, key: str) -> KeyValue: ...

    async def list(
        self, prefix: str, *, limit: int = 0, continue_token: str | None = None, revision: int = 0
    ) -> ListResult: ...

    async def create(self, key: str, obj: Obj) -> KeyValue: ...

    async def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue: ...

    async def guaranteed_update(
        self, key: str, try_update: TryUpdate, *, ignore_not_found: bool = False, cached: Obj | None = None
    ) -> KeyValue: ...

    def watch(self, prefix: str, from_revision: int = 0) -> AsyncIterator[WatchEvent]: ...

    async def current_revision(self) -> int: ...

    async def compact(self, revision: int) -> None: ...

    async def healthy(self) -> bool: ...

    async def close(self) -> None: ...
