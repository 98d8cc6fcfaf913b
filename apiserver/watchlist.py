"""A watch's `sendInitialEvents` (the watch-list protocol of client-go's reflector), checked as kube-apiserver's
ListOptions validation does it (apimachinery/pkg/apis/meta/internalversion/validation):

* `sendInitialEvents` is for watches only, needs `resourceVersionMatch=NotOlderThan` and `allowWatchBookmarks=true`;
* `resourceVersionMatch` on a watch is allowed only together with `sendInitialEvents`.

Any of these broken is 422 Invalid on meta.k8s.io ListOptions. With `sendInitialEvents=true` the server sends the
current state (not older than `resourceVersion`) as ADDED events, then one BOOKMARK annotated
`k8s.io/initial-events-end: "true"`, then live events (apiserver.watchcache).
"""

from __future__ import annotations

from starlette.requests import Request

from apimachinery import errors
from apiserver.request import flag

NOT_OLDER_THAN = "NotOlderThan"


def _forbidden(field: str, message: str) -> dict[str, str]:
    return {"reason": "FieldValueForbidden", "message": f"Forbidden: {message}", "field": field}


def send_initial_events(request: Request, *, watch: bool) -> bool | None:
    """The request's sendInitialEvents (None when absent); 422 when the options do not fit together."""
    q = request.query_params
    raw = q.get("sendInitialEvents")
    match = q.get("resourceVersionMatch") or ""
    causes: list[dict[str, str]] = []
    if raw is not None:
        if not watch:
            causes.append(_forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        elif match != NOT_OLDER_THAN:
            causes.append(
                _forbidden(
                    "resourceVersionMatch",
                    f"sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}",
                )
            )
        if watch and flag(raw) and not flag(q.get("allowWatchBookmarks")):
            causes.append(
                _forbidden(
                    "allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true"
                )
            )
    elif watch and match:
        causes.append(
            _forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            )
        )
    if causes:
        raise errors.invalid("ListOptions", "", causes, "meta.k8s.io")
    return None if raw is None else flag(raw)
