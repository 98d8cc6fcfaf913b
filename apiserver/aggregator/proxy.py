"""One request for an aggregated group, forwarded to its backend (kube-aggregator's proxy handler).

The user was authenticated and authorized by this apiserver (apiserver/auth/filter.py) before the request gets
here. The backend learns who it is from the requestheader headers (X-Remote-User, X-Remote-Group,
X-Remote-Extra-<key>), which it may trust only because the connection carries the apiserver's front-proxy client
certificate. The caller's own credentials (Authorization, Impersonate-*) and any X-Remote-* it sent are never
passed on. Errors are Kubernetes Status bodies: 503 ServiceUnavailable when the backend cannot be reached.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import TYPE_CHECKING, Any

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from apimachinery import errors
from apimachinery.user import UserInfo
from apiserver.aggregator.resolve import Backend, resolve, service_unavailable

if TYPE_CHECKING:
    from apiserver.server import APIServer

log = logging.getLogger("apiserver.aggregator")

Obj = dict[str, Any]
USER_HEADER = "X-Remote-User"
GROUP_HEADER = "X-Remote-Group"
EXTRA_PREFIX = "X-Remote-Extra-"
# Headers that belong to one hop, the caller's credentials, and identity headers only we may set.
_DROPPED = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                      "transfer-encoding", "upgrade", "host", "authorization", "content-length"})  # fmt: skip
_DROPPED_PREFIXES = ("impersonate-", "x-remote-")
_RESPONSE_DROPPED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
TIMEOUT = httpx.Timeout(30.0, connect=5.0, read=None)  # no read limit: watches stay open


def identity_headers(user: UserInfo) -> list[tuple[str, str]]:
    """requestheader's headers for `user`; extra keys are percent-encoded, as upstream."""
    headers = [(USER_HEADER, user.name)] + [(GROUP_HEADER, g) for g in user.groups]
    for key, values in user.extra.items():
        headers += [(EXTRA_PREFIX + urllib.parse.quote(key, safe=""), v) for v in values]
    return headers


def forwarded_headers(request: Request, user: UserInfo) -> list[tuple[str, str]]:
    kept = [
        (k, v)
        for k, v in request.headers.items()
        if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    ]
    return kept + identity_headers(user)


class Proxy:
    def __init__(self, server: APIServer) -> None:
        self.server = server
        self._clients: dict[int, httpx.AsyncClient] = {}

    def client_for(self, backend: Backend) -> httpx.AsyncClient:
        client = self._clients.get(id(backend.ssl_context))
        if client is None:
            client = httpx.AsyncClient(verify=backend.ssl_context, timeout=TIMEOUT, trust_env=False)
            self._clients[id(backend.ssl_context)] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def handle(self, request: Request, api_service: Obj) -> Response:
        from apiserver.rest import status_response  # apiserver.rest needs the server, which holds this proxy

        try:
            backend = resolve(self.server, api_service)
        except errors.StatusError as err:
            return status_response(err)
        user: UserInfo = request.scope["user"]
        body = await request.body()
        query = request.url.query
        url = backend.url + request.url.path + (f"?{query}" if query else "")
        client = self.client_for(backend)
        outgoing = client.build_request(
            request.method, url, headers=forwarded_headers(request, user), content=body,
            extensions={"sni_hostname": backend.server_name},
        )  # fmt: skip
        try:
            upstream = await client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            log.warning("backend unreachable", extra={"apiservice": api_service["metadata"]["name"],
                                                      "url": backend.url, "error": str(exc)})  # fmt: skip
            return status_response(service_unavailable(f"error trying to reach service: {exc}"))
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _RESPONSE_DROPPED}
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=headers,
            background=BackgroundTask(upstream.aclose),
        )
