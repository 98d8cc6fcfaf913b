"""The OpenAPI v3 document of metrics.k8s.io/v1beta1, which the apiserver's /openapi/v3 passes on for the
aggregated group (kubectl explain, client generators): NodeMetrics, PodMetrics, their lists, and the read-only
paths, with the `x-kubernetes-group-version-kind` of each kind."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
PREFIX = "io.k8s.metrics.pkg.apis.metrics.v1beta1"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
GV_PATH = f"apis/{GROUP}/{VERSION}"


def _ref(name: str) -> Obj:
    return {"$ref": f"#/components/schemas/{name}"}


def _kind(kind: str, description: str, properties: Obj, required: list[str]) -> Obj:
    return {
        "description": description,
        "type": "object",
        "required": required,
        "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                       "metadata": {"allOf": [_ref(f"{META}.ObjectMeta")], "default": {}}, **properties},
        "x-kubernetes-group-version-kind": [{"group": GROUP, "version": VERSION, "kind": kind}],
    }  # fmt: skip


def _list(kind: str) -> Obj:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                       "items": {"type": "array", "items": {"allOf": [_ref(f"{PREFIX}.{kind}")], "default": {}}},
                       "metadata": {"allOf": [_ref(f"{META}.ListMeta")], "default": {}}},
        "x-kubernetes-group-version-kind": [{"group": GROUP, "version": VERSION, "kind": f"{kind}List"}],
    }  # fmt: skip


def _get(kind: str, namespaced: bool, list_: bool) -> Obj:
    response = _ref(f"{PREFIX}.{kind}List" if list_ else f"{PREFIX}.{kind}")
    parameters: list[Obj] = [{"name": "labelSelector", "in": "query", "schema": {"type": "string"}},
                  {"name": "fieldSelector", "in": "query", "schema": {"type": "string"}}] if list_ else []  # fmt: skip
    if namespaced:
        parameters.append({"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}})
    if not list_:
        parameters.append({"name": "name", "in": "path", "required": True, "schema": {"type": "string"}})
    return {"get": {"operationId": f"{'list' if list_ else 'read'}{kind}", "parameters": parameters,
                    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": response}}}},
                    "x-kubernetes-action": "list" if list_ else "get",
                    "x-kubernetes-group-version-kind": {"group": GROUP, "version": VERSION, "kind": kind}}}  # fmt: skip


def document() -> Obj:
    usage = {"type": "object", "additionalProperties": {"type": "string"},
             "description": "CPU in cores and memory in bytes, as Quantities."}  # fmt: skip
    container = {"type": "object", "required": ["name", "usage"],
                 "properties": {"name": {"type": "string", "default": ""}, "usage": usage}}  # fmt: skip
    times = {"timestamp": {"type": "string", "format": "date-time"}, "window": {"type": "string"}}
    schemas = {
        f"{PREFIX}.NodeMetrics": _kind("NodeMetrics", "resource usage metrics of a node.", {**times, "usage": usage},
                                       ["timestamp", "window", "usage"]),
        f"{PREFIX}.PodMetrics": _kind("PodMetrics", "resource usage metrics of a pod.",
                                      {**times, "containers": {"type": "array", "items": container}},
                                      ["timestamp", "window", "containers"]),
        f"{PREFIX}.NodeMetricsList": _list("NodeMetrics"),
        f"{PREFIX}.PodMetricsList": _list("PodMetrics"),
        f"{META}.ObjectMeta": {"type": "object", "additionalProperties": True},
        f"{META}.ListMeta": {"type": "object", "additionalProperties": True},
    }  # fmt: skip
    base = f"/{GV_PATH}"
    paths = {
        f"{base}/nodes": _get("NodeMetrics", False, True),
        f"{base}/nodes/{{name}}": _get("NodeMetrics", False, False),
        f"{base}/pods": _get("PodMetrics", False, True),
        f"{base}/namespaces/{{namespace}}/pods": _get("PodMetrics", True, True),
        f"{base}/namespaces/{{namespace}}/pods/{{name}}": _get("PodMetrics", True, False),
    }
    return {"openapi": "3.0.0", "info": {"title": "metrics-server", "version": VERSION}, "paths": paths,
            "components": {"schemas": schemas}}  # fmt: skip


def root() -> Obj:
    return {"paths": {GV_PATH: {"serverRelativeURL": f"/openapi/v3/{GV_PATH}"}}}
