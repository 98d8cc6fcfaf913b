"""What both storage backends build the same way on top of their own primitives.

A backend subclasses `Backend` and supplies the compare-and-swap primitives of `apiserver.storage.cas` (`read`,
`swap`), `current_revision` and `compact`; it gets GuaranteedUpdate (the loop written once in `cas`) and the
compaction schedule: every `_compaction_interval` seconds compact to the older of "the revision one interval ago"
and "`_history_window` revisions back", so a watcher always has at least one interval and one window of history.
"""

from __future__ import annotations

import asyncio
import logging

from apiserver.storage import cas
from apiserver.storage.interface import KeyValue, Obj, StorageError, TryUpdate


class Backend:
    name = "storage"  # for logs: "etcd", "sqlite"
    _closed: bool
    _compaction_interval: float
    _history_window: int
    _compacted = 0  # the highest compaction revision known; a backend that does not track it compacts from 0

    async def read(self, key: str) -> cas.Stored | None:
        raise NotImplementedError

    async def swap(self, key: str, expected: int, value: bytes) -> tuple[int, cas.Stored | None]:
        raise NotImplementedError

    async def current_revision(self) -> int:
        raise NotImplementedError

    async def compact(self, revision: int) -> None:
        raise NotImplementedError

    async def guaranteed_update(
        self, key: str, try_update: TryUpdate, *, ignore_not_found: bool = False, cached: Obj | None = None
    ) -> KeyValue:
        return await cas.guaranteed_update(
            self, key, try_update, ignore_not_found=ignore_not_found, cached=cached
        )

    async def _compact_periodically(self) -> None:
        log = logging.getLogger(type(self).__module__)
        previous = 0
        while not self._closed:
            await asyncio.sleep(self._compaction_interval)
            try:
                now = await self.current_revision()
                target = min(previous, now - self._history_window)
                if target > self._compacted:
                    await self.compact(target)
                    log.info("compacted %s history", self.name, extra={"revision": target})
                previous = now
            except StorageError as exc:
                log.warning("%s compaction failed: %s", self.name, exc, extra={"error": str(exc)})
