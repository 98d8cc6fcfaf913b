"""The store of one served version of a custom resource, and its strategy.

Every version of a custom resource shares one storage prefix and one watch cache; objects are stored at the
storage version. With `None` conversion (the only one kubelite offers) converting is setting `apiVersion`, so a
version's store writes objects at the storage version and answers every object in its own version.

Each write is pruned, defaulted and validated against the schema of the version it was written in, as in
kube-apiserver.
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apiserver.crd import structural
from apiserver.crd.info import CustomResourceInfo
from apiserver.registry import Store
from apiserver.storage.interface import Storage
from apiserver.strategy import Strategy
from apiserver.views import ConvertingStore
from apiserver.watchcache import WatchCache

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


class CustomResourceStore(ConvertingStore):
    """The generic store for one served version, over the objects of every version. Objects are converted to the
    storage version in `_validate`, after validation in the version they were written in, so `to_stored` leaves
    them as they are."""

    info: CustomResourceInfo

    def __init__(
        self, info: CustomResourceInfo, storage: Storage, cache: WatchCache, strategy: Strategy
    ) -> None:
        # Not a view over another store: every served version has the same storage prefix, by the CRD's name.
        Store.__init__(self, info, storage, cache, strategy, prefix=info.storage_prefix)
        self.storage_api_version = f"{info.group}/{info.storage_version}"

    def to_view(self, obj: Obj) -> Obj:
        return _in_version(obj, self.info.api_version)

    def to_stored(self, obj: Obj) -> Obj:
        return obj

    def _validate(self, obj: Obj, old: Obj | None) -> None:
        super()._validate(obj, old)
        # Validated in the version it was written in; stored at the storage version.
        if obj.get("apiVersion") != self.storage_api_version:
            converted = _in_version(obj, self.storage_api_version)
            obj.clear()
            obj.update(converted)
