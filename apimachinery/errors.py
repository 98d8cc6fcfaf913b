"""Kubernetes API errors: one exception type carrying a `Status`, and builders for the common reasons.

    StatusError            an error that the API answers with a Status body (code, reason, message, details)

Clients raise the same type when the server answers with a Status, so `is_not_found(err)` reads the same on both
sides of the wire. Callers test an error with the predicates at the end (`is_not_found`, `is_already_exists`,
`is_conflict`, ...), never with a raw `err.code`: a 409 is AlreadyExists (a create lost to an existing name) or
Conflict (a stale resourceVersion or a failed precondition), and the two mean different things.

The builders say what kube-apiserver says, word for word: each names the function of
k8s.io/apimachinery/pkg/api/errors (or the apiserver code path) whose Status it reproduces. `status()` lays the
body out as Go's encoding/json writes metav1.Status: fields in struct order (kind, apiVersion, metadata, status,
message, reason, details, code; in details: name, group, kind, uid, causes, retryAfterSeconds; in a cause: reason,
message, field), empty ones left out as `omitempty` does, `details` present only when the Go code sets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_DETAIL_ORDER = ("name", "group", "kind", "uid", "causes", "retryAfterSeconds")
_CAUSE_ORDER = ("reason", "message", "field")


class StatusError(Exception):
    """An API error with a Kubernetes `Status` body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        # `details` is always a dict to read; whether the body carries it follows the Go code (a nil pointer there).
        self.details = details or {}
        self.has_details = details is not None
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        if self.message:
            body["message"] = self.message
        if self.reason:
            body["reason"] = self.reason
        details = dict(self.details)
        if self.retry_after:
            details["retryAfterSeconds"] = self.retry_after
        if self.has_details or details:
            body["details"] = go_details(details)
        if self.code:
            body["code"] = self.code
        return body

    @classmethod
    def from_status(cls, body: dict[str, Any], code: int | None = None) -> StatusError:
        details = body.get("details")
        retry = (details or {}).get("retryAfterSeconds") if isinstance(details, dict) else None
        return cls(
            int(body.get("code") or code or 500),
            str(body.get("reason") or "Unknown"),
            str(body.get("message") or ""),
            details=details if isinstance(details, dict) else None,
            retry_after=int(retry) if isinstance(retry, int) and retry > 0 else None,
        )

    def __repr__(self) -> str:
        return f"StatusError({self.code}, {self.reason!r}, {self.message!r})"


def go_details(details: dict[str, Any]) -> dict[str, Any]:
    """metav1.StatusDetails as Go writes it: struct order, empty fields omitted, causes ordered the same way."""
    out: dict[str, Any] = {}
    for key in _DETAIL_ORDER:
        value = details.get(key)
        if key == "causes" and value:
            value = [{k: c[k] for k in _CAUSE_ORDER if c.get(k)} for c in value]
        if value:
            out[key] = value
    for key, value in details.items():  # anything else a caller put there (none of ours), kept after
        if key not in out and key not in _DETAIL_ORDER and value:
            out[key] = value
    return out


def success_status(*, name: str, group: str, kind: str, uid: str | None) -> dict[str, Any]:
    """The Status a DELETE answers for a kind whose registry does not return the object
    (genericregistry.Store.finalizeDelete: `details.kind` is the resource, no `code`)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": go_details({"name": name, "group": group, "kind": kind, "uid": uid}),
    }


def go_quote(text: str) -> str:
    """Go's `%q` (strconv.Quote): double quotes, backslash escapes for quotes and unprintable runes."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def qualified(resource: str, group: str) -> str:
    """`deployments.apps` for grouped resources, `pods` for the core group (schema.GroupResource.String)."""
    return f"{resource}.{group}" if group else resource


def _resource_details(resource: str, group: str, name: str | None) -> dict[str, Any]:
    return {"name": name or "", "group": group, "kind": resource}


def _about_object(
    code: int, reason: str, resource: str, name: str, group: str, *, before: str = "", after: str
) -> StatusError:
    """A StatusError about one named object, its message `<before>deployments.apps "web"<after>`."""
    message = f"{before}{qualified(resource, group)} {go_quote(name)}{after}"
    return StatusError(code, reason, message, details=_resource_details(resource, group, name))


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    """errors.NewNotFound."""
    return _about_object(404, "NotFound", resource, name, group, after=" not found")


def path_not_found() -> StatusError:
    """go-restful's 404 for a path no route serves, through NewGenericServerResponse (an empty `details`)."""
    return StatusError(404, "NotFound", "the server could not find the requested resource", details={})


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    """errors.NewAlreadyExists."""
    return _about_object(409, "AlreadyExists", resource, name, group, after=" already exists")


def conflict(resource: str, name: str, group: str = "", why: str | None = None) -> StatusError:
    """errors.NewConflict; `why` defaults to the storage layer's stale-resourceVersion error."""
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    before = "Operation cannot be fulfilled on "
    return _about_object(409, "Conflict", resource, name, group, before=before, after=f": {why}")


def apply_conflict(causes: list[dict[str, str]], message: str) -> StatusError:
    """errors.NewApplyConflict: server-side apply conflicts, one FieldManagerConflict cause per field."""
    return StatusError(409, "Conflict", message, details={"causes": causes})


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> StatusError:
    """errors.NewInvalid. `causes` are {"reason": "FieldValueInvalid", "message": ..., "field": "spec.x"} entries;
    the message aggregates them as field.ErrorList.ToAggregate prints ("field: message", several in [a, b])."""
    qualified_kind = f"{kind}.{group}" if group else kind
    aggregated = _aggregate([f"{c.get('field', '')}: {c.get('message', '')}" for c in causes])
    message = f"{qualified_kind} {go_quote(name)} is invalid"
    if aggregated:
        message += f": {aggregated}"
    return StatusError(
        422, "Invalid", message, details={"name": name, "group": group, "kind": kind, "causes": causes}
    )


def _aggregate(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    if not unique:
        return ""
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def bad_request(message: str) -> StatusError:
    """errors.NewBadRequest (no details)."""
    return StatusError(400, "BadRequest", message)


def forbidden(message: str) -> StatusError:
    """errors.NewForbidden with no resource: "forbidden: <why>" and an empty `details`."""
    return StatusError(403, "Forbidden", f"forbidden: {message}", details={})


def forbidden_resource(resource: str, name: str, group: str, why: str) -> StatusError:
    """errors.NewForbidden for a resource (and, when given, an object name); `forbidden: <why>` without one."""
    if not resource:
        return forbidden(why)
    target = qualified(resource, group)
    message = f"{target} {go_quote(name)} is forbidden: {why}" if name else f"{target} is forbidden: {why}"
    return StatusError(403, "Forbidden", message, details=_resource_details(resource, group, name))


def unauthorized(message: str = "Unauthorized") -> StatusError:
    """errors.NewUnauthorized, as the authentication filter sends it (message "Unauthorized", no details)."""
    return StatusError(401, "Unauthorized", message or "not authorized")


def method_not_allowed() -> StatusError:
    """go-restful's 405 for a verb a path does not serve, through NewGenericServerResponse."""
    return StatusError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", details={}
    )


def method_not_supported(resource: str, group: str, action: str) -> StatusError:
    """errors.NewMethodNotSupported: `action` is not offered for this resource at all."""
    return StatusError(
        405,
        "MethodNotAllowed",
        f"{action} is not supported on resources of kind {go_quote(qualified(resource, group))}",
        details={"group": group, "kind": resource},
    )


def gone(message: str) -> StatusError:
    """errors.NewResourceExpired (reason Expired, no details): a resourceVersion too old for the watch cache."""
    return StatusError(410, "Expired", message)


def too_large(message: str) -> StatusError:
    """errors.NewRequestEntityTooLargeError; kube-apiserver's body limit says "limit is <bytes>"."""
    return StatusError(413, "RequestEntityTooLarge", f"Request entity too large: {message}")


def unsupported_media_type(content_type: str = "") -> StatusError:
    """go-restful's 415 for a body whose Content-Type no route consumes, through NewGenericServerResponse.

    The answer does not name the type (kube-apiserver's does not either); `content_type` is for the caller's
    logs and kept for the call sites that pass it."""
    del content_type
    return StatusError(415, "UnsupportedMediaType", "415: Unsupported Media Type", details={})


def too_many_requests(message: str, retry_after: int) -> StatusError:
    """errors.NewTooManyRequests."""
    return StatusError(429, "TooManyRequests", message, details={}, retry_after=retry_after)


def internal(message: str = "an internal error occurred") -> StatusError:
    """errors.NewInternalError: the error's text as the one cause."""
    return StatusError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        details={"causes": [{"message": message}]},
    )


def unavailable(message: str = "storage is unavailable, try again", retry_after: int = 1) -> StatusError:
    """errors.NewServiceUnavailable with a retry delay, as the not-ready handler sends it."""
    return StatusError(503, "ServiceUnavailable", message, details={}, retry_after=retry_after)


def timeout(message: str, retry_after: int = 0) -> StatusError:
    """errors.NewTimeoutError ("Timeout: <message>", details with the retry delay)."""
    return StatusError(504, "Timeout", f"Timeout: {message}", details={}, retry_after=retry_after or None)


def too_large_resource_version(minimum: int, current: int, retry_after: int = 1) -> StatusError:
    """storage.NewTooLargeResourceVersionError: a read at a revision the server has not reached yet."""
    err = timeout(f"Too large resource version: {minimum}, current: {current}", retry_after)
    err.details["causes"] = [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
    return err


def _code_is(code: int, doc: str) -> Callable[[BaseException], bool]:
    """A predicate: is `err` a StatusError with this HTTP status code?"""

    def predicate(err: BaseException) -> bool:
        return isinstance(err, StatusError) and err.code == code

    predicate.__doc__ = doc
    return predicate


def is_conflict(err: BaseException) -> bool:
    """409 Conflict (a stale resourceVersion, an apply conflict); not AlreadyExists, which is also a 409."""
    return isinstance(err, StatusError) and err.code == 409 and err.reason == "Conflict"


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.reason == "AlreadyExists"


is_bad_request = _code_is(400, "400: a request the server could not make sense of.")
is_unauthorized = _code_is(401, "401: no credentials, or ones the server does not accept.")
is_forbidden = _code_is(403, "403: authenticated, but not allowed (or refused by admission).")
is_not_found = _code_is(404, "404: no such object (or path).")
is_method_not_supported = _code_is(405, "405: the server does not offer this verb or subresource.")
is_gone = _code_is(410, "410: a resourceVersion too old for the server's window (relist).")
is_invalid = _code_is(422, "422: the object failed validation.")
is_too_many_requests = _code_is(429, "429: throttled; retry after the delay the server gave.")
is_timeout = _code_is(
    504, "504: a server-side timeout, or a read at a resourceVersion the server has not reached."
)


@contextmanager
def ignore_not_found() -> Iterator[None]:
    """Run the block; a NotFound from it means the object is gone already, which is what the caller wanted."""
    try:
        yield
    except StatusError as err:
        if not is_not_found(err):
            raise
