"""OpenAPI v3 documents: `/openapi/v3` (the root) and `/openapi/v3/{api/v1 | apis/g/v}` (one per group version).

kubectl needs them for `create -f` / `apply -f` (its validation probe: the item path's `patch` operation must
carry `x-kubernetes-group-version-kind` and its own `fieldValidation` parameter) and for `kubectl explain`,
which walks `components.schemas` from the schema whose `x-kubernetes-group-version-kind` names the kind.

Nothing here is written by hand: the paths come from the resource table (apiserver.openapi_paths), the schemas of
built-in kinds from Kubernetes' published definitions (apimachinery.schemas), those of custom resources from their
CustomResourceDefinition. A document holds the schemas its paths reach through `$ref`. The definitions are kept
in Swagger 2.0's form (`#/definitions/...`); `v3_schema` rewrites one for OpenAPI v3 (`#/components/schemas/...`,
a `$ref` with siblings wrapped in `allOf`), and a Swagger 2.0 writer for `/openapi/v2` would start from the same
definitions and paths.

Documents are built on first request and kept as the bytes served, with their hash (sha512 of the canonical JSON,
upper-case hex, like kube-apiserver); the root links each one with `?hash=`, so kubectl's cache notices a change.
A document is rebuilt when the resources of its group version change (a CRD created, changed or deleted).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from apimachinery import schemas
from apimachinery.errors import path_not_found
from apimachinery.resources import ResourceInfo
from apiserver import openapi_paths
from apiserver.crd.info import CustomResourceInfo
from apiserver.resourcetable import ResourceTable

Schema = dict[str, Any]

TITLE = "Kubernetes"
_V3_PREFIX = "#/components/schemas/"


def v3_schema(value: Any) -> Any:
    """A definition (or any part of one) in OpenAPI v3 form."""
    if isinstance(value, list):
        return [v3_schema(v) for v in value]
    if not isinstance(value, dict):
        return value
    ref = value.get("$ref")
    if isinstance(ref, str):
        target = {"$ref": _V3_PREFIX + ref.removeprefix(schemas.REF_PREFIX).removeprefix(_V3_PREFIX)}
        rest = {k: v3_schema(v) for k, v in value.items() if k != "$ref"}
        return {"allOf": [target], **rest}
    out: Schema = {}
    for key, item in value.items():
        if key == "properties" and isinstance(item, dict):
            out[key] = {name: v3_schema(prop) for name, prop in item.items()}
        else:
            out[key] = v3_schema(item)
    return out


def custom_schema_name(info: ResourceInfo, kind: str | None = None) -> str:
    """The component name of a custom kind, as kube-apiserver names it: `com.example.stable.v1.CronTab`."""
    reversed_group = ".".join(reversed(info.group.split(".")))
    return f"{reversed_group}.{info.version}.{kind or info.kind}"


def custom_definitions(info: CustomResourceInfo) -> tuple[str, str, dict[str, Schema]]:
    """The kind and list definitions of a custom resource version, from its CRD's schema."""
    gvk = {"group": info.group, "version": info.version, "kind": info.kind}
    base: Schema = dict(info.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    properties = dict(base.get("properties") or {})
    properties["apiVersion"] = {"type": "string", "description": _API_VERSION}
    properties["kind"] = {"type": "string", "description": _KIND}
    properties["metadata"] = {"$ref": schemas.REF_PREFIX + schemas.OBJECT_META, "description": _METADATA}
    kind = {
        **base,
        "type": "object",
        "properties": properties,
        "x-kubernetes-group-version-kind": [gvk],
    }
    kind_name = custom_schema_name(info)
    list_name = custom_schema_name(info, info.list_kind_name)
    listing = {
        "description": f"{info.list_kind_name} is a list of {info.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": _API_VERSION},
            "kind": {"type": "string", "description": _KIND},
            "items": {
                "type": "array",
                "description": f"List of {info.resource}.",
                "items": {"$ref": schemas.REF_PREFIX + kind_name},
            },
            "metadata": {"$ref": schemas.REF_PREFIX + schemas.LIST_META, "description": _LIST_METADATA},
        },
        "x-kubernetes-group-version-kind": [{**gvk, "kind": info.list_kind_name}],
    }
    return kind_name, list_name, {kind_name: kind, list_name: listing}


_API_VERSION = "APIVersion defines the versioned schema of this representation of an object."
_KIND = "Kind is a string value representing the REST resource this object represents."
_METADATA = "Standard object's metadata."
_LIST_METADATA = "Standard list metadata."


def builtin_names(info: ResourceInfo) -> tuple[str, str | None]:
    """The published definitions of a kind and of its list (None for a kind that has none: the reviews)."""
    kind = schemas.for_kind(info.group, info.version, info.kind)
    if kind is None:
        raise LookupError(f"Kubernetes publishes no schema for {info.group_version} {info.kind}")
    return kind, schemas.for_kind(info.group, info.version, info.list_kind_name)


def reachable(roots: list[str], lookup: dict[str, Schema]) -> dict[str, Schema]:
    """The definitions reachable from `roots` through $ref, sorted by name."""
    seen: dict[str, Schema] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        schema = lookup.get(name) or schemas.definition(name)
        if schema is None:
            continue
        seen[name] = schema
        text = json.dumps(schema)
        for prefix in (schemas.REF_PREFIX, _V3_PREFIX):
            start = 0
            while (at := text.find(prefix, start)) >= 0:
                end = text.index('"', at)
                stack.append(text[at + len(prefix) : end])
                start = end
    return dict(sorted(seen.items()))


def paths_and_definitions(resources: Iterable[ResourceInfo]) -> tuple[dict[str, Schema], dict[str, Schema]]:
    """The v3 paths of `resources` (sorted) and every definition they reach: the custom resources' own, then the
    built-in ones."""
    paths: dict[str, Schema] = {}
    own: dict[str, Schema] = {}
    for info in resources:
        list_name: str | None
        if isinstance(info, CustomResourceInfo):
            kind_name, list_name, definitions = custom_definitions(info)
            own.update(definitions)
        else:
            kind_name, list_name = builtin_names(info)
        custom = isinstance(info, CustomResourceInfo)
        paths.update(openapi_paths.resource_paths(info, kind_name, list_name, custom=custom))
    body = json.dumps(paths)
    roots = sorted({ref.split('"')[0] for ref in body.split(_V3_PREFIX)[1:]})
    return dict(sorted(paths.items())), reachable(roots, own)


def build_document(resources: list[ResourceInfo]) -> Schema:
    """The OpenAPI v3 document of the resources of one group version."""
    paths, definitions = paths_and_definitions(resources)
    return {
        "openapi": "3.0.0",
        "info": {"title": TITLE, "version": schemas.KUBERNETES_VERSION},
        "paths": paths,
        "components": {"schemas": {name: v3_schema(schema) for name, schema in definitions.items()}},
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def parse_gv_path(path: str) -> tuple[str, str]:
    """`api/v1` -> ("", "v1"); `apis/apps/v1` -> ("apps", "v1") (leading slashes and `openapi/v3/` allowed).

    404 StatusError for anything else.
    """
    parts = path.strip("/").removeprefix("openapi/v3/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    raise path_not_found()


class OpenAPIDocuments:
    """The documents of one resource table, built on demand and kept until their resources change."""

    def __init__(self, table: ResourceTable) -> None:
        self.table = table
        self._cache: dict[tuple[str, str], tuple[Any, bytes, str]] = {}

    def _entry(self, group: str, version: str) -> tuple[bytes, str]:
        resources = self.table.in_group_version(group, version)
        if not resources:
            raise path_not_found()
        # What identifies the document's content: the resources and, for custom ones, their CRD's revision.
        key = tuple(
            (r.resource, r.fingerprint if isinstance(r, CustomResourceInfo) else "") for r in resources
        )
        cached = self._cache.get((group, version))
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        encoded = json.dumps(build_document(resources), sort_keys=True, separators=(",", ":")).encode()
        digest = hashlib.sha512(encoded).hexdigest().upper()
        self._cache[(group, version)] = (key, encoded, digest)
        for stale in [gv for gv in self._cache if gv not in self.table.groups()]:
            del self._cache[stale]
        return encoded, digest

    def group_version_json(self, group: str, version: str) -> bytes:
        """The document as canonical JSON bytes, ready to serve (the hashed form); 404 StatusError if unserved."""
        return self._entry(group, version)[0]

    def document_hash(self, group: str, version: str) -> str:
        """The upper-case sha512 hex of the document's canonical JSON."""
        return self._entry(group, version)[1]

    def group_version_document(self, group: str, version: str) -> Schema | None:
        """The document of one group version (a fresh copy), or None for a group version not served."""
        if (group, version) not in self.table.groups():
            return None
        result: Schema = json.loads(self.group_version_json(group, version))
        return result

    def root_document(self, server_base: str = "") -> Schema:
        """`GET /openapi/v3`: each group version's path and its `serverRelativeURL` with `?hash=`."""
        return {
            "paths": {
                _gv_path(g, v): {
                    "serverRelativeURL": f"{server_base}/openapi/v3/{_gv_path(g, v)}"
                    f"?hash={self.document_hash(g, v)}"
                }
                for g, v in self.table.groups()
            }
        }
