"""The guaranteed-update loop (storage.Interface.GuaranteedUpdate), written once over a backend's compare-and-swap.

A backend offers two primitives on raw stored bytes:

    read(key)                      the key's current value and mod revision, or None when absent
    swap(key, expected, value)     write `value` only if the key's mod revision is still `expected` (0: absent);
                                   (new revision, None) on success, (0, the current state or None) on a lost race

and `guaranteed_update` is read -> try_update -> swap, again from the state that won until a swap succeeds. The
etcd backend swaps with a Txn (mod_revision compare), the SQLite backend with one append in a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apiserver.storage import decode_value, encode_value, stamped_copy, strip_revision
from apiserver.storage.interface import ErrorCode, KeyValue, Obj, StorageError, TryUpdate


@dataclass(frozen=True)
class Stored:
    """A key's raw stored value and its mod revision."""

    value: bytes
    revision: int


class CompareAndSwap(Protocol):
    async def read(self, key: str) -> Stored | None: ...

    async def swap(self, key: str, expected: int, value: bytes) -> tuple[int, Stored | None]: ...


async def guaranteed_update(
    backend: CompareAndSwap,
    key: str,
    try_update: TryUpdate,
    *,
    ignore_not_found: bool = False,
    cached: Obj | None = None,
) -> KeyValue:
    """See the storage interface: `try_update` may be called several times; a result equal to the current object
    is not written and the current object is returned. With `cached` (a recent state, stamped with its revision)
    the first try starts from it instead of a read: the swap compares revisions, so a stale one loses and the
    loop goes on from the state that won, and an error `try_update` raises on it (a precondition the client set
    against a newer state) is decided again on a read, as kube-apiserver does."""
    current = _from_cache(cached)
    from_cache = current is not None
    if current is None:
        current = await backend.read(key)
    while True:
        if current is None:
            if not ignore_not_found:
                raise StorageError(ErrorCode.NOT_FOUND, key)
            new = try_update(None)
            expected = 0
        else:
            # Two decodes: `try_update` may change the dict it is given, and the comparison needs the original.
            try:
                new = try_update(decode_value(current.value, current.revision))
            except Exception:
                if from_cache:  # a refusal of a cached state may be the cache's lag: decide on the stored one
                    current, from_cache = await backend.read(key), False
                    continue
                raise
            stored = decode_value(current.value, current.revision)
            if strip_revision(new) == strip_revision(stored):
                if from_cache:  # "unchanged" only counts against the stored state
                    current, from_cache = await backend.read(key), False
                    continue
                return KeyValue(key, stored, current.revision)
            expected = current.revision
        revision, current = await backend.swap(key, expected, encode_value(new))
        from_cache = False
        if revision:
            return KeyValue(key, stamped_copy(new, revision), revision)
        # Lost a race: `current` is now the state that won; try again from it.


def _from_cache(cached: Obj | None) -> Stored | None:
    """A cached object as the stored state it was decoded from (its bytes re-encoded; its revision), or None."""
    if cached is None:
        return None
    try:
        revision = int(cached["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return None
    return Stored(encode_value(cached), revision) if revision > 0 else None
