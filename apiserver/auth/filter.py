"""The apiserver's front door, an ASGI middleware: authenticate, impersonate, authorize, then hand the request on
with `scope["user"]` (a UserInfo) and `scope["request_info"]` (a RequestInfo) set. It never buffers a body, so
watch streams pass through untouched.

* No credentials: anonymous, allowed on PUBLIC_PATHS (health and version), authorized like anyone on
  ANONYMOUS_AUTHORIZED (the cluster-info ConfigMap); elsewhere 401.
* Credentials nobody accepts: 401 on every path.
* Refused by the authorizers: 403 with kube-apiserver's message.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from apimachinery import errors
from apimachinery.tlsserve import client_cert_subject
from apimachinery.user import ANONYMOUS_USER, UserInfo
from apiserver.auth import Auth, requestinfo
from apiserver.auth.authenticators import Credentials
from apiserver.auth.authorizer import Attributes, Decision, forbidden
from apiserver.auth.impersonation import impersonate
from apiserver.rest import status_response

log = logging.getLogger("apiserver.auth")

# What anonymous requests may reach, as kube-apiserver's system:public-info-viewer role allows.
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
# What anonymous requests may ask for, subject to authorization: the cluster-info ConfigMap a joining machine
# reads before it has credentials (RBAC grants system:anonymous `get` on it, as kubeadm does).
ANONYMOUS_AUTHORIZED = frozenset({"/api/v1/namespaces/kube-public/configmaps/cluster-info"})
READY_WAIT = 5.0  # seconds a request waits for the authorizers' caches right after start-up


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class AuthFilter:
    def __init__(self, app: ASGIApp, auth: Auth) -> None:
        self.app = app
        self.auth = auth
        self._ready = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            user, info = await self.check(scope)
        except errors.StatusError as err:
            if scope["type"] == "http":
                await status_response(err)(scope, receive, send)
            else:  # refuse the upgrade with the same Status, as kube-apiserver answers before upgrading
                await WebSocket(scope, receive, send).send_denial_response(status_response(err))
            return
        scope["user"] = user
        scope["request_info"] = info
        await self.app(scope, receive, send)

    async def check(self, scope: Scope) -> tuple[UserInfo, requestinfo.RequestInfo]:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        path: str = scope["path"]
        creds = Credentials(client_cert_subject(scope), bearer_token(headers))
        user: UserInfo | None
        if creds.empty:
            if path in ANONYMOUS_AUTHORIZED and scope.get("method") == "GET":
                user = ANONYMOUS_USER
            elif path not in PUBLIC_PATHS:
                raise errors.unauthorized()
            else:
                return ANONYMOUS_USER, requestinfo.parse(scope.get("method", "GET"), path)
        else:
            user = await self.auth.authenticator.authenticate(creds)
        if user is None:
            raise errors.unauthorized()
        info = requestinfo.parse(scope.get("method", "GET"), path, scope.get("query_string", b""))
        if path in PUBLIC_PATHS:
            return user, info
        await self._wait_ready()
        user = impersonate(user, headers, self.auth.authorizer)
        scope["user"] = user  # the audit log and the access log name the user of a refused request too
        attrs = Attributes(user, info)
        decision, reason = self.auth.authorizer.authorize(attrs)
        if decision is not Decision.ALLOW:
            log.info(
                "forbidden",
                extra={"user": user.name, "verb": info.verb, "resource": info.resource, "path": path},
            )
            raise forbidden(attrs, reason)
        return user, info

    async def _wait_ready(self) -> None:
        if self._ready or self.auth.ready is None:
            return
        try:
            await asyncio.wait_for(self.auth.ready(), READY_WAIT)
            self._ready = True
        except TimeoutError:
            raise errors.unavailable("the authorizers' data is not loaded yet, try again") from None
