"""--max-requests-inflight and --max-mutating-requests-inflight, as kube-apiserver's WithMaxInFlightLimit.

Read-only (GET, HEAD, OPTIONS) and mutating requests each have a budget of requests in progress; a request over
its budget is answered at once with 429 TooManyRequests and `Retry-After: 1`, which every client (client-go,
kubectl, ours) honours by retrying. Long-running requests hold a connection for minutes by design and are not
counted: watches and pod logs. Health, readiness and metrics are never refused, so a busy server still reports
itself. A limit of 0 means no limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from apimachinery import errors
from apiserver import metrics
from apiserver.rest import status_response

_READ_ONLY = {"GET", "HEAD", "OPTIONS"}
_ALWAYS = ("/healthz", "/livez", "/readyz", "/metrics")


def long_running(scope: Scope) -> bool:
    path = scope.get("path", "")
    query = scope.get("query_string", b"")
    if "/watch/" in path or path.endswith("/log"):
        return True
    return any(part in (b"watch=true", b"watch=1", b"watch=True") for part in query.split(b"&"))


class InflightLimit:
    def __init__(self, app: ASGIApp, *, read_only: int, mutating: int) -> None:
        self.app = app
        self.limits = {False: read_only, True: mutating}
        self.inflight = {False: 0, True: 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_ALWAYS) or long_running(scope):
            await self.app(scope, receive, send)
            return
        mutating = scope["method"] not in _READ_ONLY
        limit = self.limits[mutating]
        if limit and self.inflight[mutating] >= limit:
            metrics.rejected_inflight.labels("mutating" if mutating else "readOnly").inc()
            err = errors.StatusError(
                429, "TooManyRequests", "Too many requests, please try again later.", retry_after=1
            )
            await status_response(err)(scope, receive, send)
            return
        kind = "mutating" if mutating else "readOnly"
        self.inflight[mutating] += 1
        metrics.child(metrics.inflight_requests, kind).set(self.inflight[mutating])
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight[mutating] -= 1
            metrics.child(metrics.inflight_requests, kind).set(self.inflight[mutating])
