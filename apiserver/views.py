"""A served version that is a view of another version's objects (events.k8s.io/v1 over core Events, autoscaling/v1
over autoscaling/v2 HorizontalPodAutoscalers): one storage, one watch cache, converted on the way in and out.

A subclass says how: `to_view` (stored -> served) and `to_stored` (served -> stored); `check_create` may refuse a
served object before it is converted (events.k8s.io/v1 validates its own fields)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from apimachinery.resources import ResourceInfo
from apiserver.registry import Store
from apiserver.registry_types import DeleteOptions, ListOptions
from apiserver.watchcache import CacheEvent

Obj = dict[str, Any]
WatchEvents = AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]


class ConvertingStore(Store):
    """Serves `info` from the stored version's store: same storage, cache, strategy and key prefix."""

    def __init__(self, info: ResourceInfo, stored: Store) -> None:
        super().__init__(info, stored.storage, stored.cache, stored.strategy, prefix=stored.prefix)

    def to_view(self, obj: Obj) -> Obj:
        raise NotImplementedError

    def to_stored(self, obj: Obj) -> Obj:
        raise NotImplementedError

    def check_create(self, obj: Obj) -> None:
        """Refuse a served object before conversion (a StatusError); nothing to check by default."""

    async def get(self, namespace: str | None, name: str) -> Obj:
        return self.to_view(await super().get(namespace, name))

    async def list(
        self, namespace: str | None, opts: ListOptions
    ) -> tuple[list[Obj], str, str | None, int | None]:
        items, revision, token, remaining = await super().list(namespace, opts)
        return [self.to_view(o) for o in items], revision, token, remaining

    def watch(self, namespace: str | None, opts: ListOptions, **options: Any) -> WatchEvents:
        return self._converted(super().watch(namespace, opts, **options))

    async def _converted(self, events: WatchEvents) -> WatchEvents:
        try:
            async for event_type, obj, cached in events:
                view = self.to_view(obj)
                # The cache's encoded frames are of the stored object: only an unconverted object may use them.
                yield event_type, view, cached if view is obj else None
        finally:
            await events.aclose()

    async def create(self, namespace: str | None, obj: Obj, **options: Any) -> Obj:
        self.check_create(obj)
        return self.to_view(await super().create(namespace, self.to_stored(obj), **options))

    async def update(
        self, namespace: str | None, name: str, transform: Callable[[Obj], Obj], **options: Any
    ) -> tuple[Obj, bool]:
        # create_if_missing (server-side apply) makes a served object, which goes through self.create.
        updated, created = await super().update(
            namespace, name, lambda current: self.to_stored(transform(self.to_view(current))), **options
        )
        return self.to_view(updated), created

    async def delete(
        self, namespace: str | None, name: str, opts: DeleteOptions, **options: Any
    ) -> tuple[Obj, bool]:
        obj, gone = await super().delete(namespace, name, opts, **options)
        return self.to_view(obj), gone
