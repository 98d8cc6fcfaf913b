"""The nodes/proxy subresource: `GET /api/v1/nodes/{name}/proxy/{path}` relayed to that node's kubelet API, as
kube-apiserver's node proxy does (so `kubectl get --raw /api/v1/nodes/N/proxy/stats/summary` works).

Authorization has already happened by the time this runs: the request is `get` (or whatever the method maps to)
on `nodes/proxy` for the node's name (apiserver/auth/requestinfo.py); RBAC grants it to system:kubelet-api-admin
and cluster-admin. The apiserver then calls the kubelet with its own kubelet-client certificate
(apiserver/kubeletclient.py), which the kubelet authorizes as the apiserver's identity.

What reaches the kubelet is built from checked parts only: the node's address from its status (an IP and a port,
podlogs.kubelet_address), and a path whose segments are percent-encoded again one by one, with no `.`/`..`
segment, no empty leading segment (`//host` would name another server) and no scheme. The kubelet's status code,
content type and body come back unchanged, as upstream relays them; when the kubelet cannot be reached the answer is
a 503 Status, as kube-apiserver's "error trying to reach service".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from apimachinery import errors
from apimachinery.resources import must_resource
from apimachinery.validation.syntax import is_dns1123_subdomain
from apiserver import kubeletclient
from apiserver.podlogs import kubelet_address

if TYPE_CHECKING:
    from apiserver.server import APIServer

NODES = must_resource("", "nodes")
PREFIX = "/api/v1/nodes/"
_METHODS = ("GET", "HEAD")
_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%-]+")
_PASSED_HEADERS = ("accept", "accept-encoding")


def match(path: str) -> tuple[str, str] | None:
    """(node name, path on the kubelet) for `/api/v1/nodes/{name}/proxy[/{path}]`, else None."""
    if not path.startswith(PREFIX):
        return None
    name, sep, rest = path[len(PREFIX) :].partition("/")
    if not sep or not (rest == "proxy" or rest.startswith("proxy/")):
        return None
    return name, rest[len("proxy") :]


def kubelet_path(path: str) -> str:
    """The path to ask the kubelet for, each segment checked and encoded; StatusError 400 for anything that could
    leave the kubelet's API (traversal, another host, a scheme)."""
    if path in ("", "/"):
        return "/"
    segments = path[1:].split("/") if path.startswith("/") else None
    if segments is None or "://" in path or path.startswith("//"):
        raise errors.bad_request(f"invalid proxy path {path[:200]!r}")
    out = []
    for i, seg in enumerate(segments):
        if seg == "" and i == len(segments) - 1:
            out.append("")  # a trailing slash is kept
            continue
        if seg in ("", ".", "..") or not _SEGMENT.fullmatch(quote(seg, safe="")):
            raise errors.bad_request(f"invalid proxy path {path[:200]!r}")
        out.append(quote(seg, safe=""))
    return "/" + "/".join(out)


async def handle(server: APIServer, request: Request, name: str, path: str) -> Response:
    if request.method not in _METHODS:
        raise errors.method_not_allowed()
    node_name, _, port = name.partition(":")
    if is_dns1123_subdomain(node_name) or port:
        # `nodes/{name}:{port}/proxy` (another port of the node) is not offered: only the kubelet's API.
        raise errors.bad_request(f"invalid node name for proxying: {name[:100]!r}")
    target = kubelet_path(path)
    node = await server.store(NODES).get(None, node_name)
    url = kubelet_address(node) + target
    query = request.scope.get("query_string", b"").decode("latin-1")
    headers = {k: v for k, v in request.headers.items() if k in _PASSED_HEADERS}
    client = kubeletclient.client(server.options, read_timeout=60.0)
    outgoing = client.build_request(
        request.method,
        httpx.URL(url, query=query.encode("ascii", "ignore")),
        headers=headers,
        extensions=kubeletclient.request_extensions(node_name),
    )
    try:
        upstream = await client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise errors.StatusError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from None

    relayed = {k: v for k, v in upstream.headers.items() if k in ("content-type", "content-encoding")}
    return StreamingResponse(
        kubeletclient.relay(client, upstream), status_code=upstream.status_code, headers=relayed
    )
