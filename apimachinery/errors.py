"""Kubernetes API errors: one exception type carrying a `Status`, and builders for the common reasons.

    StatusError            an error that the API answers with a Status body (code, reason, message, details)

Clients raise the same type when the server answers with a Status, so `err.code == 404` reads the same on both
sides of the wire.
"""

from __future__ import annotations

from typing import Any


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
        self.details = details or {}
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }
        if self.retry_after is not None:
            body["details"] = {**self.details, "retryAfterSeconds": self.retry_after}
        return body

    @classmethod
    def from_status(cls, body: dict[str, Any], code: int | None = None) -> StatusError:
        return cls(
            int(body.get("code") or code or 500),
            str(body.get("reason") or "Unknown"),
            str(body.get("message") or ""),
            details=body.get("details") or {},
        )

    def __repr__(self) -> str:
        return f"StatusError({self.code}, {self.reason!r}, {self.message!r})"


def qualified(resource: str, group: str) -> str:
    """`deployments.apps` for grouped resources, `pods` for the core group (as Kubernetes prints them)."""
    return f"{resource}.{group}" if group else resource


def _details(resource: str, group: str, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": resource}
    if name is not None:
        details["name"] = name
    if group:
        details["group"] = group
    return details


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'{qualified(resource, group)} "{name}" not found',
        details=_details(resource, group, name),
    )


def path_not_found() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource")


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        details=_details(resource, group, name),
    )


def conflict(resource: str, name: str, group: str = "", why: str | None = None) -> StatusError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        details=_details(resource, group, name),
    )


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> StatusError:
    """422 Invalid. `causes` are {"reason": "FieldValueInvalid", "message": ..., "field": "spec.x"} entries."""
    parts = "; ".join(f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes)
    return StatusError(
        422,
        "Invalid",
        f'{kind} "{name}" is invalid: {parts}',
        details={"name": name, "kind": kind, **({"group": group} if group else {}), "causes": causes},
    )


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(message: str) -> StatusError:
    return StatusError(403, "Forbidden", message)


def forbidden_resource(resource: str, group: str, name: str, why: str) -> StatusError:
    """403 as Kubernetes' NewForbidden words it: `pods "x" is forbidden: <why>` (`forbidden: <why>` without a
    resource)."""
    if not resource:
        return StatusError(403, "Forbidden", f"forbidden: {why}", details={})
    what = qualified(resource, group)
    message = f'{what} "{name}" is forbidden: {why}' if name else f"{what} is forbidden: {why}"
    details = _details(resource, group, name or None)
    return StatusError(403, "Forbidden", message, details=details)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def too_large(message: str = "the request body is too large") -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", message)


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}"
    )


def internal(message: str = "an internal error occurred") -> StatusError:
    return StatusError(500, "InternalError", message)


def unavailable(message: str = "storage is unavailable, try again") -> StatusError:
    return StatusError(503, "ServiceUnavailable", message, retry_after=1)


def timeout(message: str) -> StatusError:
    return StatusError(504, "Timeout", message)


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 404


def is_conflict(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 409 and err.reason == "Conflict"


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.reason == "AlreadyExists"
