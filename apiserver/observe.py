"""The outermost ASGI middleware: what an operator reads about requests.

* Every 5xx answer is logged with its cause (the Status message), rate-limited per code, reason and resource:
  the first at once, then one line per 10 s with the count left out (apiserver/storagewatch.py's RateLimitedLog).
* `--access-log`: one JSON line per request when it ends: method, URI, code, latency, user, source, user agent.
* `--audit-log-path` with `--audit-policy-file`: audit.k8s.io/v1 events (apiserver/audit.py), and an `Audit-Id`
  response header as kube-apiserver sends.

Authentication runs inside (apiserver/auth/filter.py) and leaves `scope["user"]` and `scope["request_info"]`;
this middleware reads them when the inner app first receives or answers, which is after authentication.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apimachinery.user import ANONYMOUS_USER, UserInfo
from apiserver.audit import LEVELS, Auditor, Decision, Event
from apiserver.auth import requestinfo
from apiserver.storagewatch import RateLimitedLog

log = logging.getLogger("apiserver.http")
access = logging.getLogger("apiserver.access")

HEALTH_PATHS = ("/livez", "/readyz", "/healthz")  # apiserver/health.py logs their failures itself
BODY_LIMIT = 1 << 20  # bytes of a body kept for a 5xx cause or an audit event


class RequestObserver:
    def __init__(self, app: ASGIApp, *, access_log: bool = False, auditor: Auditor | None = None) -> None:
        self.app = app
        self.access_log = access_log
        self.auditor = auditor
        self.errors = RateLimitedLog(log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        state = _Request(scope, started)
        audit = self.auditor

        def begin() -> None:
            if state.begun:
                return
            state.begun = True
            if audit is not None:
                state.decision = audit.decide(state.user(), state.info())
                if state.decision.level != "None":
                    state.event = state.new_event(state.decision.level)
                    audit.emit(state.event, "RequestReceived", state.decision.omit_stages, started)

        async def observed_receive() -> Message:
            begin()
            message = await receive()
            if message["type"] == "http.request" and state.keep_request_body():
                state.request_body.extend(message.get("body", b"")[: BODY_LIMIT - len(state.request_body)])
            return message

        async def observed_send(message: Message) -> None:
            begin()
            if message["type"] == "http.response.start":
                state.code = int(message["status"])
                if state.event is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"audit-id", state.event.audit_id.encode()))
                    message = {**message, "headers": headers}
                    if audit is not None and state.decision is not None and state.info().verb == "watch":
                        # A long-running request also says when its response began, as kube-apiserver's do.
                        state.event.response_status = {"metadata": {}, "code": state.code}
                        audit.emit(state.event, "ResponseStarted", state.decision.omit_stages, time.time())
            elif message["type"] == "http.response.body" and state.keep_response_body():
                state.response_body.extend(message.get("body", b"")[: BODY_LIMIT - len(state.response_body)])
            await send(message)

        try:
            await self.app(scope, observed_receive, observed_send)
        except Exception:
            state.code = state.code or 500
            begin()
            if state.event is not None and audit is not None and state.decision is not None:
                audit.emit(state.event, "Panic", state.decision.omit_stages, time.time())
            raise
        finally:
            self._finish(state)

    def _finish(self, state: _Request) -> None:
        now = time.time()
        status = state.status()
        if state.code >= 500 and not state.scope.get("path", "").startswith(HEALTH_PATHS):
            info = state.info()
            self.errors.warning(
                f"{state.code}:{status.get('reason', '')}:{info.verb}:{info.resource}",
                "server error",
                code=state.code,
                reason=status.get("reason", ""),
                cause=status.get("message", ""),
                method=state.scope.get("method"),
                uri=state.uri(),
                user=state.user().name,
            )
        if self.access_log:
            access.info(
                "request",
                extra={
                    "method": state.scope.get("method"),
                    "uri": state.uri(),
                    "code": state.code,
                    "latency_ms": round((now - state.started) * 1000, 1),
                    "user": state.user().name,
                    "source": state.source(),
                    "user_agent": state.header(b"user-agent"),
                },
            )
        if state.event is not None and self.auditor is not None and state.decision is not None:
            event = state.event
            event.response_status = _response_status(state.code, status)
            event.request_object = state.request_object()
            event.response_object = state.response_object()
            if event.request_object and isinstance(event.request_object, dict):
                meta = event.request_object.get("metadata") or {}
                event.object_name = event.object_name or str(meta.get("name") or "")
                event.object_namespace = event.object_namespace or str(meta.get("namespace") or "")
            if event.level == "Metadata":
                event.request_object = None
            self.auditor.emit(event, "ResponseComplete", state.decision.omit_stages, now)


class _Request:
    """One request as the observer sees it."""

    def __init__(self, scope: Scope, started: float) -> None:
        self.scope = scope
        self.started = started
        self.code = 0
        self.begun = False
        self.decision: Decision | None = None
        self.event: Event | None = None
        self.request_body = bytearray()
        self.response_body = bytearray()

    def user(self) -> UserInfo:
        user = self.scope.get("user")
        return user if isinstance(user, UserInfo) else ANONYMOUS_USER

    def info(self) -> requestinfo.RequestInfo:
        info = self.scope.get("request_info")
        if isinstance(info, requestinfo.RequestInfo):
            return info
        scope = self.scope
        return requestinfo.parse(
            scope.get("method", "GET"), scope.get("path", ""), scope.get("query_string", b"")
        )

    def header(self, name: bytes) -> str:
        for key, value in self.scope.get("headers", []):
            if key == name:
                return str(value.decode("latin-1"))
        return ""

    def source(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    def uri(self) -> str:
        query = self.scope.get("query_string", b"")
        return str(self.scope.get("path", "")) + (f"?{query.decode('latin-1')}" if query else "")

    def new_event(self, level: str) -> Event:
        info = self.info()
        return Event(
            audit_id=str(uuid.uuid4()),
            level=level,
            request_uri=self.uri(),
            verb=info.verb,
            user=self.user(),
            source_ips=[self.source()] if self.source() else [],
            user_agent=self.header(b"user-agent"),
            received=self.started,
            info=info,
        )

    def keep_request_body(self) -> bool:
        # A create's name is in its body: read it at Metadata too (kube-apiserver fills objectRef.name from it).
        return self.event is not None and (
            LEVELS.index(self.event.level) >= LEVELS.index("Request") or self.info().verb == "create"
        )

    def keep_response_body(self) -> bool:
        if self.code >= 500:
            return True
        return self.event is not None and (self.code >= 400 or self.event.level == "RequestResponse")

    def status(self) -> dict[str, Any]:
        """The response's Status, when it is one (the cause of an error)."""
        body = _json(self.response_body)
        return body if isinstance(body, dict) and body.get("kind") == "Status" else {}

    def request_object(self) -> Any:
        return _json(self.request_body)

    def response_object(self) -> Any:
        if self.info().verb == "watch":
            return None
        return _json(self.response_body)


def _json(body: bytearray) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        return None


def _response_status(code: int, status: dict[str, Any]) -> dict[str, Any]:
    """metav1.Status as audit events carry it: the code, and for a failure its status, reason and message."""
    out: dict[str, Any] = {"metadata": {}, "code": code}
    if code >= 400:
        out["status"] = "Failure"
        for key in ("message", "reason", "details"):
            if status.get(key):
                out[key] = status[key]
    return out
