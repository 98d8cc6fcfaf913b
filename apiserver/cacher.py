"""The one storage watch behind every watch cache (apiserver/watchcache.py): it lists `/registry/` once, splits the
objects by resource into their WatchCaches, then applies each storage event to the cache of its resource and advances
every cache's revision clock. When the storage watch fails it relists and ends every client watch, so clients resume
or relist. Caches for custom resources join and leave at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from apimachinery.backoff import Backoff
from apiserver.storage.interface import Storage, StorageError
from apiserver.watchcache import Obj, WatchCache

log = logging.getLogger("apiserver.watchcache")


class Cacher:
    """Runs the one storage watch and keeps every resource's WatchCache in step with storage."""

    def __init__(self, storage: Storage, caches: list[WatchCache], root: str = "/registry/") -> None:
        self.storage = storage
        self.root = root
        self.caches = list(caches)
        self._by_resource = {self._name(c.prefix): c for c in caches}
        self._task: asyncio.Task[None] | None = None
        self.revision = 0  # every storage event up to here has reached the caches
        self._listed = False
        self._relisting = asyncio.Lock()  # a cache added during a relist waits for it, then fills itself

    def _name(self, prefix: str) -> str:
        return prefix[len(self.root) :].strip("/")

    async def add(self, cache: WatchCache) -> None:
        """Keep a cache made at run time (a custom resource's) in step with storage, from now on.

        The cache starts receiving events at once; meanwhile it is filled from a list of its prefix at the revision
        the shared watch had reached, and the events that arrived during the list are replayed on top."""
        async with self._relisting:
            self.caches.append(cache)
            self._by_resource[self._name(cache.prefix)] = cache
            if not self._listed:
                return  # the first relist fills it
            revision = self.revision
        try:
            result = await self.storage.list(cache.prefix, revision=revision)
        except StorageError:
            result = await self.storage.list(cache.prefix)  # compacted: the latest will do
        cache.fill({kv.key: kv.obj for kv in result.items}, result.revision)

    def remove(self, cache: WatchCache) -> None:
        """Stop keeping a cache (its custom resource is gone); its watchers end."""
        self._by_resource.pop(self._name(cache.prefix), None)
        if cache in self.caches:
            self.caches.remove(cache)
        for w in list(cache.watchers):
            w.terminate()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="cacher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for cache in self.caches:
            for w in list(cache.watchers):
                w.terminate()

    def _cache_for(self, key: str) -> WatchCache | None:
        parts = key[len(self.root) :].split("/", 2)
        # Built-in resources live under /registry/<plural>/, custom ones under /registry/<group>/<plural>/ (a
        # group always has a dot, a plural never).
        name = "/".join(parts[:2]) if "." in parts[0] else parts[0]
        return self._by_resource.get(name)

    async def _run(self) -> None:
        backoff = Backoff(initial=0.1, cap=2.0)
        while True:
            try:
                revision = await self._relist()
                backoff.reset()
                async for event in self.storage.watch(self.root, revision + 1):
                    cache = self._cache_for(event.key)
                    if cache is not None:
                        cache.apply(event.type, event.key, event.obj, event.revision)
                    self.revision = event.revision
                    for c in list(self.caches):
                        c.advance(event.revision)
                        if c.revision_changed._waiters:  # type: ignore[attr-defined]
                            async with c.revision_changed:
                                c.revision_changed.notify_all()
            except asyncio.CancelledError:
                raise
            except StorageError as exc:
                log.warning("the watch cache lost its storage watch; relisting", extra={"error": str(exc)})
            except Exception:
                log.exception("the watch cache failed; relisting")
            for cache in list(self.caches):
                cache.ready.clear()
                for w in list(cache.watchers):
                    w.terminate()
            await asyncio.sleep(backoff.next())

    async def _relist(self) -> int:
        """One consistent list of everything, split by resource."""
        async with self._relisting:
            return await self._relist_all()

    async def _relist_all(self) -> int:
        # Start from as far back as the buffers hold, and replay the rest through the watch: clients that resume
        # after an apiserver restart then find their resourceVersion in the buffer instead of getting 410.
        history = min((c.capacity for c in self.caches), default=0)
        current = await self.storage.current_revision()
        start = max(current - history, 1)
        result = None
        if start < current:
            try:
                result = await self.storage.list(self.root, revision=start)
            except StorageError:
                result = None  # compacted away: start from now
        if result is None:
            result = await self.storage.list(self.root)
        parts: dict[str, dict[str, Obj]] = {c.prefix: {} for c in self.caches}
        for kv in result.items:
            cache = self._cache_for(kv.key)
            if cache is not None:
                parts.setdefault(cache.prefix, {})[kv.key] = kv.obj
        for cache in list(self.caches):  # a cache may be removed meanwhile (its CRD deleted)
            cache.reset(parts.get(cache.prefix, {}), result.revision)
            async with cache.revision_changed:
                cache.revision_changed.notify_all()
        self.revision = result.revision
        self._listed = True
        return result.revision
