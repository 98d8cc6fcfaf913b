"""OpenAPI v3 documents: `/openapi/v3` (the root) and `/openapi/v3/{api/v1 | apis/g/v}` (one per group version).

kubectl needs them for `create -f` / `apply -f` (its validation probe: the item path's `patch` operation must
carry `x-kubernetes-group-version-kind` and its own `fieldValidation` parameter) and for `kubectl explain`,
which walks `components.schemas` from the schema whose `x-kubernetes-group-version-kind` names the kind.

The schemas live in `apiserver.openapi_schemas`, in a compact text notation parsed here. Patch strategies and
merge keys come from `apimachinery.patchmeta`, so the documents and the server's strategic merge agree.

Documents are static: built once, cached, hashed (sha512 of the canonical JSON, upper-case hex, like
kube-apiserver), and the root links each one with `?hash=` so that kubectl's cache notices changes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from typing import Any

from apimachinery import patchmeta
from apimachinery.errors import path_not_found
from apimachinery.resources import RESOURCES, ResourceInfo
from apiserver.openapi_schemas import SCHEMA_TEXT

Schema = dict[str, Any]

PACKAGES = {
    "meta": "io.k8s.apimachinery.pkg.apis.meta.v1",
    "core": "io.k8s.api.core.v1",
    "apps": "io.k8s.api.apps.v1",
    "coordination": "io.k8s.api.coordination.v1",
    "autoscaling": "io.k8s.api.autoscaling.v1",
}

_STANDARD_FIELDS = [
    "apiVersion string APIVersion defines the versioned schema of this representation of an object.",
    "kind string Kind is a string value representing the REST resource this object represents.",
    "metadata ObjectMeta Standard object's metadata.",
]


class TypeDef:
    """One schema of SCHEMA_TEXT: its package, group version kind (top-level kinds only) and field lines."""

    def __init__(self, header: str) -> None:
        head, self.description = header.split(": ", 1)
        self.package, self.name, *gv = head.split()
        self.gvk: tuple[str, str, str] | None = None
        if gv:
            group, version = gv[0].removeprefix("@").split("/")
            self.gvk = (group, version, self.name)
        self.fields: list[str] = []

    def field_types(self) -> dict[str, str]:
        """Field name -> type notation (`string`, `[]Container`, ...)."""
        return {line.split(" ", 2)[0].rstrip("!"): line.split(" ", 2)[1] for line in self.fields}


def _parse(text: str) -> dict[str, TypeDef]:
    types: dict[str, TypeDef] = {}
    current: TypeDef | None = None
    for line in text.strip().splitlines():
        if not line.startswith(" "):
            current = TypeDef(line)
            types[current.name] = current
        elif current is not None:
            field = line.strip()
            current.fields.extend(_STANDARD_FIELDS if field == "+object" else [field])
    return types


TYPES = _parse(SCHEMA_TEXT)

_BY_GVK = {t.gvk: t for t in TYPES.values() if t.gvk}


def unknown_fields(obj: dict[str, Any]) -> list[str]:
    """Paths of the fields of `obj` that its kind's schema does not declare (`spec.containers[0].foo`), for
    `fieldValidation=Strict`. Kinds without a schema, free-form fields and maps are not checked."""
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    type_def = _BY_GVK.get((group, version, str(obj.get("kind") or "")))
    found: list[str] = []
    if type_def is not None:
        _walk(obj, type_def.name, "", found)
    return found


def _walk(value: Any, type_: str, path: str, found: list[str]) -> None:
    if type_.startswith("[]"):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _walk(item, type_[2:], f"{path}[{i}]", found)
        return
    if type_ not in TYPES or not isinstance(value, dict):
        return
    fields = TYPES[type_].field_types()
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key not in fields:
            found.append(child)
        else:
            _walk(item, fields[key], child, found)


# Schemas with a fixed shape (no fields).
SCALARS: dict[str, tuple[str, Schema]] = {
    "Time": (
        "meta",
        {"type": "string", "format": "date-time", "description": "An RFC 3339 timestamp in UTC."},
    ),
    "MicroTime": (
        "meta",
        {"type": "string", "format": "date-time", "description": "An RFC 3339 timestamp with microseconds."},
    ),
    "Patch": ("meta", {"type": "object", "description": "The body of a PATCH request."}),
    "Status": (
        "meta",
        {"type": "object", "description": "The result of a call that returns no other object."},
    ),
    "Quantity": (
        "",
        {"type": "string", "description": "A fixed-point number with a suffix, e.g. 100m, 1Gi."},
    ),
    "IntOrString": (
        "",
        {
            "type": "string",
            "format": "int-or-string",
            "description": "A value that is either an integer or a string.",
        },
    ),
}
_SCALAR_NAMES = {
    "Quantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "IntOrString": "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
}
_PRIMITIVES = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number", "format": "double"},
}
# Our schema name -> the name of its Go type upstream, where they differ (EnvVarSource selectors).
_UPSTREAM_NAME = {"KeySelector": "ConfigMapKeySelector"}


def schema_name(name: str) -> str:
    """The full schema name (`io.k8s.api.core.v1.Pod`) of one of our short names."""
    if name in _SCALAR_NAMES:
        return _SCALAR_NAMES[name]
    base = name.removesuffix("List") if name.removesuffix("List") in TYPES else name
    package = TYPES[base].package if base in TYPES else SCALARS[name][0] if name in SCALARS else "core"
    return f"{PACKAGES[package]}.{_UPSTREAM_NAME.get(name, name)}"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{schema_name(name)}"}


def _type_schema(type_: str) -> Schema:
    if type_.startswith("[]"):
        return {"type": "array", "items": _type_schema(type_[2:])}
    if type_ in _PRIMITIVES:
        return dict(_PRIMITIVES[type_])
    if type_ == "map":
        return {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
    if type_ == "object":
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if type_ == "resources":
        return {"type": "object", "additionalProperties": _ref("Quantity")}
    if type_ in TYPES:
        return {"allOf": [_ref(type_)], "default": {}}
    if type_ in SCALARS or type_ in _SCALAR_NAMES:
        return {"allOf": [_ref(type_)]}
    raise ValueError(f"unknown schema type {type_!r}")


def _property(type_: str, description: str, meta: patchmeta.Field | None) -> Schema:
    prop = _type_schema(type_) | {"description": description}
    if meta is None:
        return prop
    if type_.startswith("[]"):
        if meta.strategy:
            prop["x-kubernetes-patch-strategy"] = meta.strategy
        if meta.merge_key:
            prop["x-kubernetes-patch-merge-key"] = meta.merge_key
            prop["x-kubernetes-list-type"] = "map"
            prop["x-kubernetes-list-map-keys"] = [meta.merge_key]
        elif meta.merges:
            prop["x-kubernetes-list-type"] = "set"
    elif meta.strategy == "retainKeys":
        prop["x-kubernetes-patch-strategy"] = meta.strategy
    return prop


def _gvk_list(group: str, version: str, kind: str) -> list[dict[str, str]]:
    return [{"group": group, "kind": kind, "version": version}]


def _build(type_def: TypeDef) -> Schema:
    patch_meta = (
        patchmeta.KINDS.get(type_def.name, {}) if type_def.gvk else patchmeta.fields_of(type_def.name)
    )
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for line in type_def.fields:
        name, type_, description = line.split(" ", 2)
        if name.endswith("!"):
            name = name[:-1]
            required.append(name)
        properties[name] = _property(type_, description, patch_meta.get(name))
    schema: Schema = {"description": type_def.description, "type": "object", "properties": properties}
    if required:
        schema["required"] = sorted(required)
    if type_def.gvk:
        schema["x-kubernetes-group-version-kind"] = _gvk_list(*type_def.gvk)
    return schema


def _list_schema(kind: str, group: str, version: str) -> Schema:
    return {
        "description": f"{kind}List is a list of {kind} objects.",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": _STANDARD_FIELDS[0].split(" ", 2)[2]},
            "kind": {"type": "string", "description": _STANDARD_FIELDS[1].split(" ", 2)[2]},
            "items": {
                "type": "array",
                "description": f"The list of {kind} objects.",
                "items": {"allOf": [_ref(kind)], "default": {}},
            },
            "metadata": {
                "allOf": [_ref("ListMeta")],
                "default": {},
                "description": "Standard list metadata.",
            },
        },
        "x-kubernetes-group-version-kind": _gvk_list(group, version, f"{kind}List"),
    }


@cache
def all_schemas() -> dict[str, Schema]:
    """Every schema by full name (built once)."""
    schemas: dict[str, Schema] = {schema_name(name): dict(fixed) for name, (_, fixed) in SCALARS.items()}
    for type_def in TYPES.values():
        schemas[schema_name(type_def.name)] = _build(type_def)
        if type_def.gvk:
            group, version, kind = type_def.gvk
            schemas[schema_name(f"{kind}List")] = _list_schema(kind, group, version)
    return schemas


# --- paths ----------------------------------------------------------------------------------------------------


def _param(
    name: str, where: str, description: str, *, required: bool = False, type_: str = "string"
) -> Schema:
    param: Schema = {"name": name, "in": where, "description": description, "schema": {"type": type_}}
    if required:
        param["required"] = True
    if where == "query":
        param["uniqueItems"] = True
    return param


_NAME = _param("name", "path", "name of the object", required=True)
_NAMESPACE = _param(
    "namespace", "path", "object name and auth scope, such as for teams and projects", required=True
)
_PRETTY = _param("pretty", "query", "If 'true', the output is pretty printed.")
_DRY_RUN = _param(
    "dryRun", "query", "When present, modifications are not persisted. The only valid value is All."
)
_FIELD_MANAGER = _param(
    "fieldManager", "query", "A name for the actor or entity that is making these changes."
)
_FIELD_VALIDATION = _param(
    "fieldValidation",
    "query",
    "How the server treats unknown or duplicate fields in the request: Ignore, Warn or Strict.",
)
_FORCE = _param("force", "query", "Force Apply requests to take over conflicting fields.", type_="boolean")
_LIST_PARAMS = [
    _param("allowWatchBookmarks", "query", "Ask for BOOKMARK events in a watch.", type_="boolean"),
    _param("continue", "query", "The continue token of the previous page."),
    _param("fieldSelector", "query", "Restrict the returned objects by their fields."),
    _param("labelSelector", "query", "Restrict the returned objects by their labels."),
    _param("limit", "query", "The maximum number of objects to return.", type_="integer"),
    _param("resourceVersion", "query", "Which version of the resource to serve or watch from."),
    _param("timeoutSeconds", "query", "Timeout of the list or watch call.", type_="integer"),
    _param("watch", "query", "Watch for changes and return them as a stream of events.", type_="boolean"),
]
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def _json_response(name: str, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _operation(
    action: str,
    verb_text: str,
    res: ResourceInfo,
    kind_ref: str,
    gvk: dict[str, str],
    *,
    scope: str,
    sub: str = "",
) -> Schema:
    namespaced = "Namespaced" if res.namespaced and scope != "all" else ""
    group = "".join(p.capitalize() for p in (res.group.split(".")[0] or "core",))
    target = f"{res.kind}{sub.capitalize()}"
    verb = {"list": "list", "watch": "watch", "deletecollection": "deleteCollection"}.get(action, action)
    operation: Schema = {
        "tags": [f"{res.group.split('.')[0] or 'core'}_{res.version}"],
        "description": f"{verb_text} {res.kind}" + (f" {sub}" if sub else ""),
        "operationId": f"{verb}{group}{res.version.capitalize()}{namespaced}{target}"
        + ("ForAllNamespaces" if scope == "all" else ""),
        "responses": {"200": _json_response(kind_ref), "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action if action != "watch" else "list",
        "x-kubernetes-group-version-kind": dict(gvk),
    }
    if action in ("get", "delete", "list", "watch", "deletecollection"):
        if action in ("list", "watch"):
            operation["parameters"] = [dict(p) for p in _LIST_PARAMS]
        return operation
    parameters = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    media = ["application/json"]
    if action == "patch":
        parameters = [*parameters, _FORCE]
        media = list(_PATCH_TYPES)
        body_ref = "Patch"
    else:
        body_ref = kind_ref
    operation["parameters"] = [dict(p) for p in parameters]
    operation["requestBody"] = {"content": {m: {"schema": _ref(body_ref)} for m in media}, "required": True}
    if action in ("post", "patch", "put"):
        operation["responses"]["201"] = _json_response(kind_ref, "Created")
    return operation


def _resource_paths(res: ResourceInfo) -> dict[str, Schema]:
    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    prefix = res.path_prefix()
    scope_params = [_NAMESPACE] if res.namespaced else []
    collection = (
        f"{prefix}/namespaces/{{namespace}}/{res.resource}" if res.namespaced else f"{prefix}/{res.resource}"
    )
    list_ref = f"{res.kind}List"
    paths: dict[str, Schema] = {
        collection: {
            "get": _operation("list", "list or watch objects of kind", res, list_ref, gvk, scope="ns"),
            "post": _operation("post", "create a", res, res.kind, gvk, scope="ns"),
            "delete": _operation("deletecollection", "delete collection of", res, "Status", gvk, scope="ns"),
            "parameters": [*scope_params, _PRETTY],
        },
        f"{collection}/{{name}}": {
            "get": _operation("get", "read the specified", res, res.kind, gvk, scope="ns"),
            "put": _operation("put", "replace the specified", res, res.kind, gvk, scope="ns"),
            "patch": _operation("patch", "partially update the specified", res, res.kind, gvk, scope="ns"),
            "delete": _operation("delete", "delete a", res, "Status", gvk, scope="ns"),
            "parameters": [_NAME, *scope_params, _PRETTY],
        },
    }
    if res.namespaced:
        paths[f"{prefix}/{res.resource}"] = {
            "get": _operation("list", "list or watch objects of kind", res, list_ref, gvk, scope="all"),
            "parameters": [_PRETTY],
        }
    for sub in res.subresources:
        if sub == "status":
            sub_gvk, ref = gvk, res.kind
        elif sub == "scale":
            sub_gvk, ref = {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "Scale"
        else:
            continue  # log, binding, eviction, finalize: not patchable, nothing for kubectl to probe
        paths[f"{collection}/{{name}}/{sub}"] = {
            "get": _operation("get", "read", res, ref, sub_gvk, scope="ns", sub=sub),
            "put": _operation("put", "replace", res, ref, sub_gvk, scope="ns", sub=sub),
            "patch": _operation("patch", "partially update", res, ref, sub_gvk, scope="ns", sub=sub),
            "parameters": [_NAME, *scope_params, _PRETTY],
        }
    return paths


# --- documents ------------------------------------------------------------------------------------------------


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _with_placeholders(schemas: dict[str, Schema], roots: list[str]) -> dict[str, Schema]:
    """Kinds without a schema here yet (RBAC, ServiceAccount, the reviews) get an open object schema, so every
    $ref resolves and kubectl's validation probe finds their operations."""
    for name in roots:
        schemas.setdefault(name, {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    return schemas


def _referenced(schemas: dict[str, Schema], roots: list[str]) -> dict[str, Schema]:
    """The schemas reachable from `roots` through $ref."""
    prefix = "#/components/schemas/"
    seen: dict[str, Schema] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in schemas:
            continue
        seen[name] = schemas[name]
        text = json.dumps(schemas[name])
        start = 0
        while (at := text.find(prefix, start)) >= 0:
            end = text.index('"', at)
            stack.append(text[at + len(prefix) : end])
            start = end
    return dict(sorted(seen.items()))


@cache
def _document(group: str, version: str) -> tuple[Schema, bytes, str]:
    resources = [r for r in RESOURCES if r.group == group and r.version == version]
    if not resources:
        raise path_not_found()
    paths: dict[str, Schema] = {}
    for res in resources:
        paths.update(_resource_paths(res))
    body = json.dumps(paths)
    roots = sorted({ref.split('"')[0] for ref in body.split("#/components/schemas/")[1:]})
    document: Schema = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": _with_placeholders(_referenced(all_schemas(), roots), roots)},
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return document, encoded, hashlib.sha512(encoded).hexdigest().upper()


def group_versions() -> list[tuple[str, str]]:
    """The (group, version) pairs that have a document, core first."""
    seen: list[tuple[str, str]] = []
    for res in RESOURCES:
        if (res.group, res.version) not in seen:
            seen.append((res.group, res.version))
    return seen


def group_version_document(group: str, version: str) -> Schema | None:
    """The OpenAPI v3 document of one group version (a copy), or None for a group version we do not serve."""
    if (group, version) not in group_versions():
        return None
    return copy.deepcopy(_document(group, version)[0])


def group_version_json(group: str, version: str) -> bytes:
    """The document as canonical JSON bytes, ready to serve (the hashed form)."""
    return _document(group, version)[1]


def document_hash(group: str, version: str) -> str:
    """The upper-case sha512 hex of the document's canonical JSON."""
    return _document(group, version)[2]


def root_document(server_base: str = "") -> Schema:
    """`GET /openapi/v3`: each group version's path and its `serverRelativeURL` with `?hash=`."""
    return {
        "paths": {
            _gv_path(g, v): {
                "serverRelativeURL": f"{server_base}/openapi/v3/{_gv_path(g, v)}?hash={document_hash(g, v)}"
            }
            for g, v in group_versions()
        }
    }


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
