"""Who may use the kubelet's API, decided as the real kubelet's webhook mode decides it:

* authentication: a client certificate verified against --client-ca-file (CN = user, O = groups), or a bearer
  token the apiserver accepts (a TokenReview), cached for a while; nothing else. Anonymous requests get 401.
* authorization: a SubjectAccessReview to the apiserver for the verb (from the HTTP method) on the node's
  subresource the path belongs to: /stats -> nodes/stats, /metrics -> nodes/metrics, /logs -> nodes/log, anything
  else (/containerLogs, /pods, ...) -> nodes/proxy. Answers are cached (allowed 5 min, denied 30 s), as upstream.

Only /healthz answers without credentials ("ok" and nothing else), and only to a caller on loopback, so a
supervisor or probe on the node itself can check the kubelet is alive; the API listens on every address, and from
anywhere else /healthz too needs credentials (as upstream, whose anonymous healthz port is 127.0.0.1:10248).
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from apimachinery.client import Client
from apimachinery.delegated import VERBS, DelegatedAuth, bearer_token
from apimachinery.errors import StatusError
from apimachinery.tlsserve import client_cert_subject
from apimachinery.user import UserInfo

log = logging.getLogger("kubelet.auth")

PUBLIC_PATHS = frozenset({"/healthz"})


def subresource_for(path: str) -> str:
    for prefix, subresource in (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log")):
        if path == prefix or path.startswith(prefix + "/"):
            return subresource
    return "proxy"


class KubeletAuth:
    """The kubelet's questions to the apiserver (apimachinery/delegated.py), on the node's subresources."""

    def __init__(self, client: Client, node_name: str, **ttls: float) -> None:
        self.delegate = DelegatedAuth(client, **ttls)
        self.node_name = node_name

    async def authenticate(self, scope: Scope) -> UserInfo | None:
        return await self.delegate.authenticate(
            client_cert_subject(scope), bearer_token(scope.get("headers") or [])
        )

    async def authorize(self, user: UserInfo, method: str, path: str) -> tuple[bool, str]:
        attributes = {
            "resource": "nodes",
            "subresource": subresource_for(path),
            "name": self.node_name,
            "version": "v1",
        }
        return await self.delegate.authorize(
            user, VERBS.get(method.upper(), method.lower()), resource=attributes
        )


class AuthMiddleware:
    """Authenticate and authorize every request but /healthz from loopback; 401 / 403 as plain text, as the kubelet answers."""

    def __init__(self, app: ASGIApp, auth: KubeletAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] in PUBLIC_PATHS and _from_loopback(scope):
            await self.app(scope, receive, send)
            return
        try:
            user = await self.auth.authenticate(scope)
            if user is None:
                await _refuse(scope, receive, send, 401, "Unauthorized")
                return
            # A WebSocket upgrade is a GET; kubectl exec/attach/port-forward are `create` on nodes/proxy upstream.
            method = scope.get("method", "GET") if scope["type"] == "http" else "POST"
            allowed, reason = await self.auth.authorize(user, method, scope["path"])
        except (StatusError, ConnectionError) as exc:
            log.warning("cannot check a caller with the apiserver: %s", exc)
            await _refuse(scope, receive, send, 503, "the apiserver could not be asked")
            return
        if not allowed:
            await _refuse(scope, receive, send, 403, reason)
            return
        scope["user"] = user
        await self.app(scope, receive, send)


def _from_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


async def _refuse(scope: Scope, receive: Receive, send: Send, code: int, text: str) -> None:
    if scope["type"] == "http":
        await PlainTextResponse(text, status_code=code)(scope, receive, send)
    else:  # a WebSocket handshake: refuse it (policy violation) instead of answering HTTP
        await receive()
        await send({"type": "websocket.close", "code": 1008, "reason": text[:120]})
