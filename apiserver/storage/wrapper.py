"""The base of a Storage that wraps another (encryption at rest, the apiserver's observation of storage writes).

A wrapper overrides the calls it changes; the ones it leaves alone (the revision, compaction, health and closing)
go to `inner` as they are.
"""

from __future__ import annotations

from apiserver.storage.interface import Storage


class StorageWrapper:
    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)

    async def healthy(self) -> bool:
        return await self.inner.healthy()

    async def close(self) -> None:
        await self.inner.close()
