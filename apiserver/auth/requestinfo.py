"""What a request asks to do, in the terms authorization speaks (k8s.io/apiserver `pkg/endpoints/request`
RequestInfoFactory): a verb on a resource (group, resource, subresource, namespace, name), or a verb on a
non-resource path (`/healthz`, `/apis`, `/openapi/v3`).

The rules are Kubernetes', independent of which resources exist (an unknown resource is authorized, then 404s):
* `/api/v1/...` and `/apis/{group}/{version}/...` are resource requests once they name a resource; the group
  and version roots (`/api`, `/apis/apps/v1`) are not.
* GET is `get` on a name, `list` without one and `watch` with `?watch=true` or the `/watch/` path form; DELETE
  without a name is `deletecollection`; POST is `create`, PUT `update`, PATCH `patch`.
* `namespaces/{ns}` sets the namespace; `namespaces/{ns}` alone (or with `status`/`finalize`) is the namespace
  object itself, which also lives "in" its own namespace.
* A list or watch with `fieldSelector=metadata.name=X` is about the object X.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from apimachinery import fields

_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class RequestInfo:
    verb: str
    path: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    # (field, operator, value) of the field selector, for authorizers that allow selected lists (Node).
    field_selector: tuple[tuple[str, str, str], ...] = field(default=())


CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward"})


def parse(method: str, path: str, query: str | bytes = "") -> RequestInfo:
    verb = _VERBS.get(method.upper(), method.lower())
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return RequestInfo(verb=verb, path=path)
    if not rest:
        return RequestInfo(verb=verb, path=path)
    params = parse_qs(query.decode("latin-1") if isinstance(query, bytes) else query)
    if rest[0] == "watch":
        verb = "watch"
        rest = rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    if not rest:
        return RequestInfo(verb=verb, path=path)
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if resource == "pods" and subresource in CONNECT_SUBRESOURCES:
        # A WebSocket upgrade is a GET, but it starts a process or opens a connection in the pod: upstream
        # (AuthorizePodWebsocketUpgradeCreatePermission) authorizes it as `create`, like the POST.
        verb = "create"
    if not name and verb == "get":
        verb = "watch" if _true(params.get("watch")) else "list"
    if not name and verb == "delete":
        verb = "deletecollection"
    requirements = _field_selector(params.get("fieldSelector"))
    if verb in ("list", "watch") and not name:
        for fld, op, value in requirements:
            if fld == "metadata.name" and op == "=":
                name = value
    return RequestInfo(
        verb=verb,
        path=path,
        resource_request=True,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        field_selector=requirements,
    )


def _true(values: list[str] | None) -> bool:
    return bool(values) and values[-1].lower() in ("true", "1")  # type: ignore[index]


def _field_selector(values: list[str] | None) -> tuple[tuple[str, str, str], ...]:
    if not values:
        return ()
    try:
        selector = fields.parse(values[-1])
    except ValueError:
        return ()  # the handler answers 400 for a malformed selector; authorization just ignores it
    return tuple((r.field, r.operator, r.value) for r in selector.requirements)
