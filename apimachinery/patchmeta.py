"""Strategic-merge patch metadata of the built-in types: which lists merge by which key, which are sets.

Derived from Kubernetes' published schemas (apimachinery.schemas): what the Go struct tags declare
(`patchStrategy`, `patchMergeKey`) is published as `x-kubernetes-patch-strategy` and
`x-kubernetes-patch-merge-key`, and the list semantics of server-side apply as `x-kubernetes-list-type` and
`x-kubernetes-list-map-keys`. The apiserver applies strategic merge patches with it (apiserver/strategic.py),
the OpenAPI documents publish the same extensions, and kctl computes its three-way apply patches with it
(cli/threeway.py), so the three always agree.

    root_fields("Deployment")["spec"]          -> Field(type="io.k8s.api.apps.v1.DeploymentSpec")
    fields_of("PodSpec")["containers"]         -> Field(type="...Container", merge_key="name", strategy="merge")

Types are named by their full definition name; `fields_of` also takes the short name (`PodSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from apimachinery import schemas
from apimachinery.resources import RESOURCES


@dataclass(frozen=True)
class Field:
    """Patch metadata of one field: the type of its value (or of its list items) and its patch strategy."""

    type: str | None = None
    merge_key: str | None = None
    strategy: str = (
        ""  # "merge", "retainKeys", "merge,retainKeys", "replace" or "" (merge maps, replace lists)
    )
    list_type: str = ""  # x-kubernetes-list-type of a list: "atomic", "set", "map" or "" (unspecified)
    map_keys: tuple[str, ...] = ()  # x-kubernetes-list-map-keys of a list of type "map"

    @property
    def merges(self) -> bool:
        return "merge" in self.strategy.split(",")


def _field(prop: schemas.Schema) -> Field | None:
    """The metadata of one property, or None for a property that has none and leads to none (a scalar, a map)."""
    strategy = str(prop.get("x-kubernetes-patch-strategy") or "")
    merge_key = prop.get("x-kubernetes-patch-merge-key")
    if prop.get("type") == "array":
        item = schemas.ref_of(prop.get("items"))
        return Field(
            item,
            merge_key,
            strategy,
            str(prop.get("x-kubernetes-list-type") or ""),
            tuple(prop.get("x-kubernetes-list-map-keys") or ()),
        )
    target = schemas.ref_of(prop)
    if target is None and not strategy:
        return None
    return Field(target, merge_key, strategy)


@cache
def _fields(name: str) -> dict[str, Field]:
    schema = schemas.definition(name) or {}
    fields: dict[str, Field] = {}
    for key, prop in (schema.get("properties") or {}).items():
        field = _field(prop)
        if field is not None:
            fields[key] = field
    return fields


def fields_of(type_name: str | None) -> dict[str, Field]:
    """The patch metadata of a type's fields ({} for an unknown type or None). Do not change the dict."""
    name = schemas.resolve(type_name) if type_name else None
    return _fields(name) if name else {}


_GENERIC_ROOT = {"metadata": Field(schemas.OBJECT_META)}


def kind_definition(kind: str, api_version: str | None = None) -> str | None:
    """The definition of a kind: of `api_version` if given, else of the served kind of that name (core first),
    else of any published kind of that name (Scale, Eviction, ...)."""
    if api_version is not None:
        group, _, version = api_version.rpartition("/")
        return schemas.for_kind(group, version, kind)
    for info in RESOURCES:
        if info.kind == kind:
            return schemas.for_kind(info.group, info.version, kind)
    return _published_kinds().get(kind)


@cache
def _published_kinds() -> dict[str, str]:
    found: dict[str, str] = {}
    for name, schema in schemas.definitions().items():
        for group, _, kind in schemas.gvks_of(schema)[:1]:
            if kind not in found or group == "":
                found[kind] = name
    return found


def root_fields(kind: str, api_version: str | None = None) -> dict[str, Field]:
    """The patch metadata at the root of an object of `kind` (metadata only for kinds without a schema)."""
    name = kind_definition(kind, api_version)
    return _fields(name) if name else _GENERIC_ROOT
