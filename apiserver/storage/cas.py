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
from apiserver.storage.interface import ErrorCode, KeyValue, StorageError, TryUpdate


@dataclass(frozen=True)
class Stored:
    """A key's raw stored value and its mod revision."""

    value: bytes
    revision: int


class CompareAndSwap(Protocol):
    async def read(self, key: str) -> Stored | None: ...

    async def swap(self, key: str, expected: int, value: bytes) -> tuple[int, Stored | None]: ...


async def guaranteed_update(
    backend: CompareAndSwap, key: str, try_update: TryUpdate, *, ignore_not_found: bool = False
) -> KeyValue:
    """See the storage interface: `try_update` may be called several times; a result equal to the current object
    is not written and the current object is returned."""
    current = await backend.read(key)
    while True:
        if current is None:
            if not ignore_not_found:
                raise StorageError(ErrorCode.NOT_FOUND, key)
            new = try_update(None)
            expected = 0
        else:
            # Two decodes: `try_update` may change the dict it is given, and the comparison needs the original.
            new = try_update(decode_value(current.value, current.revision))
            stored = decode_value(current.value, current.revision)
            if strip_revision(new) == strip_revision(stored):
                return KeyValue(key, stored, current.revision)
            expected = current.revision
        revision, current = await backend.swap(key, expected, encode_value(new))
        if revision:
            return KeyValue(key, stamped_copy(new, revision), revision)
        # Lost a race: `current` is now the state that won; try again from it.
