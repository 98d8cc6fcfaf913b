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

import hashlib
import ipaddress
import logging
import time
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.resources import must_resource
from apimachinery.tlsserve import client_cert_subject
from apimachinery.user import UserInfo

log = logging.getLogger("kubelet.auth")

TOKEN_REVIEWS = must_resource("authentication.k8s.io", "tokenreviews")
ACCESS_REVIEWS = must_resource("authorization.k8s.io", "subjectaccessreviews")
PUBLIC_PATHS = frozenset({"/healthz"})
_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


def subresource_for(path: str) -> str:
    for prefix, subresource in (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log")):
        if path == prefix or path.startswith(prefix + "/"):
            return subresource
    return "proxy"


class _TTLCache:
    def __init__(self, limit: int = 4096) -> None:
        self.entries: dict[Any, tuple[float, Any]] = {}
        self.limit = limit

    def get(self, key: Any) -> Any | None:
        hit = self.entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            self.entries.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = (time.monotonic() + ttl, value)


class KubeletAuth:
    def __init__(
        self,
        client: Client,
        node_name: str,
        *,
        authn_ttl: float = 120.0,
        allowed_ttl: float = 300.0,
        denied_ttl: float = 30.0,
    ) -> None:
        self.client = client
        self.node_name = node_name
        self.authn_ttl = authn_ttl
        self.allowed_ttl = allowed_ttl
        self.denied_ttl = denied_ttl
        self._tokens = _TTLCache()
        self._decisions = _TTLCache()

    async def authenticate(self, scope: Scope) -> UserInfo | None:
        subject = client_cert_subject(scope)
        if subject is not None and subject[0]:
            return UserInfo(subject[0], groups=subject[1])
        token = _bearer(scope)
        if not token:
            return None
        key = hashlib.sha256(token.encode()).digest()
        cached = self._tokens.get(key)
        if cached is not None:
            return cached or None
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        status = (await self.client.create(TOKEN_REVIEWS, review)).get("status") or {}
        user = UserInfo.from_json(status.get("user") or {}) if status.get("authenticated") else None
        # A refused token is remembered briefly too, so a client retrying a bad token does not flood the apiserver.
        self._tokens.put(key, user or False, self.authn_ttl if user else self.denied_ttl)
        return user

    async def authorize(self, user: UserInfo, method: str, path: str) -> tuple[bool, str]:
        verb = _VERBS.get(method.upper(), method.lower())
        subresource = subresource_for(path)
        key = (user.name, user.groups, verb, subresource)
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user.name,
                "uid": user.uid,
                "groups": list(user.groups),
                "extra": {k: list(v) for k, v in user.extra.items()},
                "resourceAttributes": {
                    "verb": verb,
                    "resource": "nodes",
                    "subresource": subresource,
                    "name": self.node_name,
                    "version": "v1",
                },
            },
        }
        status = (await self.client.create(ACCESS_REVIEWS, review)).get("status") or {}
        allowed = bool(status.get("allowed"))
        reason = (
            f"Forbidden (user={user.name}, verb={verb}, resource=nodes, subresource={subresource})"
            if not allowed
            else ""
        )
        self._decisions.put(key, (allowed, reason), self.allowed_ttl if allowed else self.denied_ttl)
        return allowed, reason


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


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
