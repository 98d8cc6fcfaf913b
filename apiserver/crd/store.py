"""The store of one served version of a custom resource, and its strategy.

Every version of a custom resource shares one storage prefix and one watch cache; objects are stored at the
storage version. With `None` conversion (the only one kubelite offers) converting is setting `apiVersion`, so a
version's store writes objects at the storage version and answers every object in its own version.

Each write is pruned, defaulted and validated against the schema of the version it was written in, as in
kube-apiserver.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from apimachinery import errors
from apiserver.crd import structural
from apiserver.crd.info import CustomResourceInfo
from apiserver.registry import Store
from apiserver.registry_types import DeleteOptions, ListOptions
from apiserver.storage.interface import Storage
from apiserver.strategy import Strategy
from apiserver.watchcache import CacheEvent, WatchCache

Obj = dict[str, Any]


class CustomResourceStrategy(Strategy):
    """Custom resources: generation on every spec change, status only through /status when the version has that
    subresource, the schema's pruning, defaults and validation."""

    has_generation = True

    def __init__(self, info: CustomResourceInfo, schemas: dict[str, Obj | None]) -> None:
        self.info = info
        self.schemas = schemas  # by version, every served version's
        self.status_subresource = "status" in info.subresources
        self.reset_status_on_create = self.status_subresource

    def _schema(self, obj: Obj) -> Obj | None:
        version = str(obj.get("apiVersion") or "").rpartition("/")[2]
        return self.schemas.get(version, self.schemas.get(self.info.version))

    def _normalize(self, obj: Obj) -> None:
        schema = self._schema(obj)
        structural.prune(obj, schema)
        structural.default(obj, schema)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._normalize(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        self._normalize(new)

    def validate(self, obj: Obj, old: Obj | None) -> list[dict[str, str]]:
        return structural.validate(obj, self._schema(obj))


CUSTOM_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)


def check_patch_type(info: object, patch_type: str) -> None:
    """Custom resources take no strategic merge patches (they have no patch strategies): 415, as upstream."""
    if isinstance(info, CustomResourceInfo) and patch_type not in CUSTOM_PATCH_TYPES:
        raise errors.unsupported_media_type(
            f"{patch_type} - accepted media types include: {', '.join(CUSTOM_PATCH_TYPES)}"
        )


def _in_version(obj: Obj, api_version: str) -> Obj:
    """`obj` as `api_version` (None conversion); the object itself when it is already."""
    if obj.get("apiVersion") == api_version or "metadata" not in obj or "kind" not in obj:
        return obj
    return {"apiVersion": api_version, **{k: v for k, v in obj.items() if k != "apiVersion"}}


class CustomResourceStore(Store):
    """The generic store for one served version, over the objects of every version."""

    info: CustomResourceInfo

    def __init__(
        self, info: CustomResourceInfo, storage: Storage, cache: WatchCache, strategy: Strategy
    ) -> None:
        super().__init__(info, storage, cache, strategy, prefix=info.storage_prefix)
        self.storage_api_version = f"{info.group}/{info.storage_version}"

    def _out(self, obj: Obj) -> Obj:
        return _in_version(obj, self.info.api_version)

    def _validate(self, obj: Obj, old: Obj | None) -> None:
        super()._validate(obj, old)
        # Validated in the version it was written in; stored at the storage version.
        if obj.get("apiVersion") != self.storage_api_version:
            converted = _in_version(obj, self.storage_api_version)
            obj.clear()
            obj.update(converted)

    async def get(self, namespace: str | None, name: str) -> Obj:
        return self._out(await super().get(namespace, name))

    async def list(
        self, namespace: str | None, opts: ListOptions
    ) -> tuple[list[Obj], str, str | None, int | None]:
        items, revision, token, remaining = await super().list(namespace, opts)
        return [self._out(o) for o in items], revision, token, remaining

    def watch(
        self,
        namespace: str | None,
        opts: ListOptions,
        *,
        timeout: float | None,
        bookmarks: bool,
        initial_events: bool | None = None,
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        return self._converted(
            super().watch(
                namespace, opts, timeout=timeout, bookmarks=bookmarks, initial_events=initial_events
            )
        )

    async def _converted(
        self, events: AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        try:
            async for event_type, obj, cached in events:
                out = self._out(obj)
                yield event_type, out, cached if out is obj else None
        finally:
            await events.aclose()

    async def create(self, namespace: str | None, obj: Obj, **options: Any) -> Obj:
        return self._out(await super().create(namespace, obj, **options))

    async def update(
        self, namespace: str | None, name: str, transform: Callable[[Obj], Obj], **options: Any
    ) -> tuple[Obj, bool]:
        updated, created = await super().update(
            namespace, name, lambda current: transform(self._out(current)), **options
        )
        return self._out(updated), created

    async def delete(
        self, namespace: str | None, name: str, opts: DeleteOptions, **options: Any
    ) -> tuple[Obj, bool]:
        obj, gone = await super().delete(namespace, name, opts, **options)
        return self._out(obj), gone
