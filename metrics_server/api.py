"""metrics.k8s.io/v1beta1 as metrics-server serves it: discovery, NodeMetrics and PodMetrics (get and list; all
namespaces or one; labelSelector; fieldSelector on metadata.name and metadata.namespace), each request
authenticated from the apiserver's requestheader and authorized by a SubjectAccessReview (auth.py).

The objects are made on request from the nodes and pods listed at the last scrape and the stored usage
(storage.py): CPU in cores (a Quantity in nanocores, canonical form: `250m`, `12345n`), memory in bytes (binary
suffixes when exact: `64Mi`), the window as a Go duration (`15.005s`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from apimachinery import errors, fields, labels
from apimachinery.timefmt import format_epoch
from apimachinery.user import UserInfo
from metrics_server import openapi
from metrics_server.auth import Authorizer, RequestHeader
from metrics_server.storage import Storage, Usage

Obj = dict[str, Any]
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def cpu_quantity(nanocores: int) -> str:
    """Kubernetes' canonical decimal form of a nanocore count: the largest of 1, m, u, n that is exact."""
    for suffix, scale in (("", 10**9), ("m", 10**6), ("u", 10**3)):
        if nanocores % scale == 0:
            return f"{nanocores // scale}{suffix}"
    return f"{nanocores}n"


def memory_quantity(size: int) -> str:
    """Bytes in binary-suffix form when exact (`64Mi`), else the plain number."""
    if size == 0:
        return "0"
    for suffix, scale in (
        ("Ei", 2**60),
        ("Pi", 2**50),
        ("Ti", 2**40),
        ("Gi", 2**30),
        ("Mi", 2**20),
        ("Ki", 2**10),
    ):
        if size % scale == 0:
            return f"{size // scale}{suffix}"
    return str(size)


def go_duration(seconds: float) -> str:
    """A window as Go prints a time.Duration, to the millisecond: `15.005s`, `1m0.5s`."""
    millis = round(seconds * 1000)
    minutes, millis = divmod(millis, 60_000)
    secs = f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def _usage(u: Usage) -> Obj:
    return {"cpu": cpu_quantity(u.nanocores), "memory": memory_quantity(u.memory_bytes)}


def _meta(obj: Obj, namespaced: bool) -> Obj:
    md = obj.get("metadata") or {}
    out: Obj = {"name": md.get("name"), "creationTimestamp": format_epoch(time.time())}
    if namespaced:
        out["namespace"] = md.get("namespace")
    if md.get("labels"):
        out["labels"] = dict(md["labels"])
    return out


@dataclass
class Snapshot:
    """What the last scrape round saw: the nodes and pods it listed."""

    nodes: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)


@dataclass(eq=False)
class MetricsAPI:
    storage: Storage
    snapshot: Snapshot
    authn: RequestHeader
    authz: Authorizer

    # ---- objects ----

    def node_metrics(self, node: Obj) -> Obj | None:
        got = self.storage.node_usage(node["metadata"]["name"])
        if got is None:
            return None
        return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(node, False),
                "timestamp": format_epoch(got.timestamp), "window": go_duration(got.window), "usage": _usage(got)}  # fmt: skip

    def pod_metrics(self, pod: Obj) -> Obj | None:
        md = pod.get("metadata") or {}
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        got = self.storage.pod_usage(md.get("namespace", ""), md.get("name", ""), [str(n) for n in names])
        if got is None:
            return None
        stamp, window, by_container = got
        containers = [{"name": name, "usage": _usage(u)} for name, u in by_container.items()]
        return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(pod, True),
                "timestamp": format_epoch(stamp), "window": go_duration(window), "containers": containers}  # fmt: skip

    # ---- requests ----

    async def handle(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except errors.StatusError as err:
            return JSONResponse(err.status(), status_code=err.code)

    async def _handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise errors.method_not_allowed()
        user = self.authn.authenticate(request.scope)
        if user is None:
            raise errors.unauthorized()
        path = request.url.path.rstrip("/")
        parts = [p for p in path.split("/") if p]
        if parts == ["openapi", "v3"]:
            return JSONResponse(openapi.root())
        if parts == ["openapi", "v3", "apis", GROUP, VERSION]:
            return JSONResponse(openapi.document())
        if parts == ["apis"]:
            return JSONResponse({"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group()]})
        if parts == ["apis", GROUP]:
            return JSONResponse(api_group())
        if parts[:3] != ["apis", GROUP, VERSION]:
            raise errors.path_not_found()
        rest = parts[3:]
        if not rest:
            return JSONResponse(resource_list())
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if (
            not rest
            or len(rest) > 2
            or rest[0] not in ("nodes", "pods")
            or (rest[0] == "nodes" and namespace)
        ):
            raise errors.path_not_found()
        resource, name = rest[0], rest[1] if len(rest) == 2 else ""
        for value in (namespace, name):
            if value and not _NAME.fullmatch(value):
                raise errors.path_not_found()
        verb = "get" if name else "list"
        await self._authorize(user, verb, resource, namespace, name)
        if resource == "nodes":
            return self._nodes(request, name)
        return self._pods(request, namespace, name)

    async def _authorize(self, user: UserInfo, verb: str, resource: str, namespace: str, name: str) -> None:
        if await self.authz.allowed(user, verb, resource, namespace, name):
            return
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        named = f' "{name}"' if name else ""
        raise errors.forbidden(f'{resource}.{GROUP}{named} is forbidden: User "{user.name}" cannot {verb} resource '
                               f'"{resource}" in API group "{GROUP}" {scope}')  # fmt: skip

    def _selectors(self, request: Request) -> tuple[labels.Selector, fields.FieldSelector]:
        try:
            return (
                labels.parse(request.query_params.get("labelSelector", "")),
                fields.parse(request.query_params.get("fieldSelector", "")),
            )
        except ValueError as exc:
            raise errors.bad_request(f"invalid selector: {exc}") from exc

    def _nodes(self, request: Request, name: str) -> Response:
        if name:
            node = next((n for n in self.snapshot.nodes if n["metadata"]["name"] == name), None)
            found = self.node_metrics(node) if node else None
            if found is None:
                raise errors.not_found("nodemetrics", name, GROUP)
            return JSONResponse(found)
        label_sel, field_sel = self._selectors(request)
        items = [m for n in self.snapshot.nodes
                 if label_sel.matches(n["metadata"].get("labels") or {}) and field_sel.matches(n, "Node")
                 and (m := self.node_metrics(n)) is not None]  # fmt: skip
        return JSONResponse(
            {"kind": "NodeMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}
        )

    def _pods(self, request: Request, namespace: str, name: str) -> Response:
        pods = [p for p in self.snapshot.pods if not namespace or p["metadata"].get("namespace") == namespace]
        if name:
            pod = next((p for p in pods if p["metadata"]["name"] == name), None)
            found = self.pod_metrics(pod) if pod else None
            if found is None:
                raise errors.not_found("podmetrics", name, GROUP)
            return JSONResponse(found)
        label_sel, field_sel = self._selectors(request)
        items = [m for p in pods
                 if label_sel.matches(p["metadata"].get("labels") or {}) and field_sel.matches(p, "Pod")
                 and (m := self.pod_metrics(p)) is not None]  # fmt: skip
        return JSONResponse(
            {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}
        )


def api_group() -> Obj:
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": GROUP,
        "versions": [version],
        "preferredVersion": version,
    }


def resource_list() -> Obj:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": [
            {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
        ],
    }  # fmt: skip


def create_app(api: MetricsAPI, ready: Any) -> Starlette:
    """The HTTPS application: /healthz, /livez and /readyz without credentials (as upstream), the rest through
    `api`."""

    async def health(request: Request) -> Response:
        if request.url.path == "/readyz" and not ready():
            return PlainTextResponse("[-]metric-storage-ready failed: no metrics yet", status_code=500)
        return PlainTextResponse("ok")

    routes = [Route(p, health) for p in ("/healthz", "/livez", "/readyz")]
    routes.append(
        Route("/{path:path}", api.handle, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    )
    return Starlette(routes=routes)
