"""The `paths` of an OpenAPI v3 group-version document: the operations on one resource, as kube-apiserver lists them.

kubectl's validation probe reads these: the item path's `patch` operation must carry
`x-kubernetes-group-version-kind` and its own `fieldValidation` parameter (path-level parameters do not count).
"""

from __future__ import annotations

from typing import Any

from apimachinery.resources import ResourceInfo

Schema = dict[str, Any]

STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
SCALE = "io.k8s.api.autoscaling.v1.Scale"
SCALE_GVK = {"group": "autoscaling", "version": "v1", "kind": "Scale"}

_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
STRATEGIC = "application/strategic-merge-patch+json"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


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


def _json_response(name: str, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref(name)}}}


def _operation(
    action: str,
    verb_text: str,
    res: ResourceInfo,
    schema_name: str,
    gvk: dict[str, str],
    *,
    all_namespaces: bool = False,
    sub: str = "",
    patch_types: tuple[str, ...] = _PATCH_TYPES,
) -> Schema:
    namespaced = "Namespaced" if res.namespaced and not all_namespaces else ""
    group = (res.group.split(".")[0] or "core").capitalize()
    target = f"{res.kind}{sub.capitalize()}"
    verb = {"deletecollection": "deleteCollection"}.get(action, action)
    operation: Schema = {
        "tags": [f"{res.group.split('.')[0] or 'core'}_{res.version}"],
        "description": f"{verb_text} {res.kind}" + (f" {sub}" if sub else ""),
        "operationId": f"{verb}{group}{res.version.capitalize()}{namespaced}{target}"
        + ("ForAllNamespaces" if all_namespaces else ""),
        "responses": {"200": _json_response(schema_name), "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action if action != "watch" else "list",
        "x-kubernetes-group-version-kind": dict(gvk),
    }
    if action in ("get", "delete", "list", "watch", "deletecollection"):
        if action in ("list", "watch"):
            operation["parameters"] = [dict(p) for p in _LIST_PARAMS]
        return operation
    parameters = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    media = ["application/json"]
    body = schema_name
    if action == "patch":
        parameters = [*parameters, _FORCE]
        media = list(patch_types)
        body = PATCH
    operation["parameters"] = [dict(p) for p in parameters]
    operation["requestBody"] = {"content": {m: {"schema": ref(body)} for m in media}, "required": True}
    if action in ("post", "patch", "put"):
        operation["responses"]["201"] = _json_response(schema_name, "Created")
    return operation


def resource_paths(
    res: ResourceInfo, kind_schema: str, list_schema: str | None, *, custom: bool
) -> dict[str, Schema]:
    """The paths of one resource, one operation per verb it has; `kind_schema` and `list_schema` name its
    components (create-only kinds, the reviews, have no list). Custom resources take no strategic merge patches
    (as in Kubernetes)."""
    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    patch_types = tuple(t for t in _PATCH_TYPES if not (custom and t == STRATEGIC))
    verbs = set(res.verbs)
    prefix = res.path_prefix()
    scope_params = [_NAMESPACE] if res.namespaced else []
    collection = (
        f"{prefix}/namespaces/{{namespace}}/{res.resource}" if res.namespaced else f"{prefix}/{res.resource}"
    )
    listed = "list" in verbs and list_schema is not None
    operations: dict[str, Schema] = {}
    if listed:
        assert list_schema is not None
        operations["get"] = _operation("list", "list or watch objects of kind", res, list_schema, gvk)
    if "create" in verbs:
        operations["post"] = _operation("post", "create a", res, kind_schema, gvk)
    if "deletecollection" in verbs:
        operations["delete"] = _operation("deletecollection", "delete collection of", res, STATUS, gvk)
    paths: dict[str, Schema] = {}
    if operations:
        paths[collection] = {**operations, "parameters": [*scope_params, _PRETTY]}
    item: dict[str, Schema] = {}
    if "get" in verbs:
        item["get"] = _operation("get", "read the specified", res, kind_schema, gvk)
    if "update" in verbs:
        item["put"] = _operation("put", "replace the specified", res, kind_schema, gvk)
    if "patch" in verbs:
        item["patch"] = _operation(
            "patch", "partially update the specified", res, kind_schema, gvk, patch_types=patch_types
        )
    if "delete" in verbs:
        item["delete"] = _operation("delete", "delete a", res, STATUS, gvk)
    if item:
        paths[f"{collection}/{{name}}"] = {**item, "parameters": [_NAME, *scope_params, _PRETTY]}
    if res.namespaced and listed:
        assert list_schema is not None
        paths[f"{prefix}/{res.resource}"] = {
            "get": _operation(
                "list", "list or watch objects of kind", res, list_schema, gvk, all_namespaces=True
            ),
            "parameters": [_PRETTY],
        }
    for sub in res.subresources:
        if sub == "status":
            sub_gvk, schema = gvk, kind_schema
        elif sub == "scale":
            sub_gvk, schema = SCALE_GVK, SCALE
        else:
            continue  # log, binding, eviction, finalize: not patchable, nothing for kubectl to probe
        paths[f"{collection}/{{name}}/{sub}"] = {
            "get": _operation("get", "read", res, schema, sub_gvk, sub=sub),
            "put": _operation("put", "replace", res, schema, sub_gvk, sub=sub),
            "patch": _operation(
                "patch", "partially update", res, schema, sub_gvk, sub=sub, patch_types=patch_types
            ),
            "parameters": [_NAME, *scope_params, _PRETTY],
        }
    return paths
