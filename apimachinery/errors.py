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

from collections.abc import Iterator
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


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    """errors.NewNotFound."""
    return StatusError(
        404,
        "NotFound",
        f"{qualified(resource, group)} {go_quote(name)} not found",
        details=_resource_details(resource, group, name),
    )


def path_not_found() -> StatusError:
    """go-restful's 404 for a path no route serves, through NewGenericServerResponse (an empty `details`)."""
    return StatusError(404, "NotFound", "the server could not find the requested resource", details={})


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    """errors.NewAlreadyExists."""
    return StatusError(
        409,
        "AlreadyExists",
        f"{qualified(resource, group)} {go_quote(name)} already exists",
        details=_resource_details(resource, group, name),
    )


def conflict(resource: str, name: str, group: str = "", why: str | None = None) -> StatusError:
    """errors.NewConflict; `why` defaults to the storage layer's stale-resourceVersion error."""
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return StatusError(
        409,
        "Conflict",
        f"Operation cannot be fulfilled on {qualified(resource, group)} {go_quote(name)}: {why}",
        details=_resource_details(resource, group, name),
    )


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


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 404


def is_conflict(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 409 and err.reason == "Conflict"


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.reason == "AlreadyExists"


def is_gone(err: BaseException) -> bool:
    """410: a resourceVersion too old for the server's window (relist)."""
    return isinstance(err, StatusError) and err.code == 410


def is_forbidden(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 403


def is_unauthorized(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 401


def is_method_not_supported(err: BaseException) -> bool:
    """405: the server does not offer this verb or subresource."""
    return isinstance(err, StatusError) and err.code == 405


def is_too_many_requests(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 429


def is_invalid(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 422


@contextmanager
def ignore_not_found() -> Iterator[None]:
    """Run the block; a NotFound from it means the object is gone already, which is what the caller wanted."""
    try:
        yield
    except StatusError as err:
        if not is_not_found(err):
            raise


def is_bad_request(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 400


def is_timeout(err: BaseException) -> bool:
    """504: a server-side timeout, or a read at a resourceVersion the server has not reached yet."""
    return isinstance(err, StatusError) and err.code == 504
