"""Reading a request: the resource path, the body (JSON or YAML, size-limited) and the query options."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request

from apimachinery import errors
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apiserver import decoding, protobuf
from apiserver.resourcetable import ResourceTable

Obj = dict[str, Any]


@dataclass
class Target:
    info: ResourceInfo
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_path: bool = False  # the deprecated /watch/ path form


def parse_path(table: ResourceTable, group: str, version: str, parts: list[str]) -> Target:
    """Resolve `[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]` under a group-version."""
    watch_path = False
    if parts and parts[0] == "watch":
        watch_path = True
        parts = parts[1:]
    namespace: str | None = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        candidate = table.lookup(group, version, parts[2])
        if candidate is not None and candidate.namespaced:
            namespace = parts[1]
            parts = parts[2:]
    if not parts or not parts[0]:
        raise errors.path_not_found()
    info = table.lookup(group, version, parts[0])
    if info is None:
        raise errors.path_not_found()
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if len(parts) > 3 or (sub is not None and sub not in info.subresources):
        raise errors.path_not_found()
    if name == "":
        raise errors.path_not_found()
    return Target(info, namespace, name, sub, watch_path)


def user_of(request: Request) -> UserInfo | None:
    """The authenticated user the auth filter put on the request (None only for in-process callers)."""
    user = request.scope.get("user")
    return user if isinstance(user, UserInfo) else None


class BodyLimits(Protocol):
    max_request_bytes: int
    request_body_timeout: float


async def read_body(request: Request, limits: BodyLimits) -> bytes:
    """The request body, at most `max_request_bytes` (413) and received within `request_body_timeout` seconds
    (408), so a client that trickles a body cannot hold a request open."""
    limit = limits.max_request_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.too_large(f"the request body is {declared[:32]} bytes, over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.request_body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise errors.too_large(f"the request body is over the limit of {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise errors.StatusError(
            408, "Timeout", f"the request body was not received within {limits.request_body_timeout:g}s"
        ) from None
    except ClientDisconnect:
        raise errors.bad_request("the client closed the connection before sending the whole body") from None
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def decode_object(request: Request, body: bytes) -> Obj:
    """A JSON (or YAML) object body. A missing Content-Type is JSON: the Python client sends none."""
    ctype = media_type(request)
    if ctype in ("", "application/json", "*/*", "text/plain"):
        obj = _json(body)
    elif ctype in ("application/yaml", "application/x-yaml", "text/yaml", "application/apply-patch+yaml"):
        obj = _yaml(body)
    elif ctype == protobuf.MEDIA_TYPE:
        obj = protobuf.decode(body)
    else:
        raise errors.unsupported_media_type(ctype)
    if not isinstance(obj, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    return obj


def _json(body: bytes) -> Any:
    try:
        return decoding.loads_json(body)
    except decoding.DecodeError as exc:
        raise errors.bad_request(f"the body of the request could not be decoded as JSON: {exc}") from None


def _yaml(body: bytes) -> Any:
    try:
        return decoding.loads_yaml(body)
    except (decoding.DecodeError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"the body of the request could not be decoded as YAML: {exc}") from None


def check_kind(obj: Obj, kind: str, api_version: str) -> None:
    """Fill apiVersion/kind from the URL when missing (the Python client omits them); refuse ones that do not fit."""
    got_kind = obj.get("kind")
    got_version = obj.get("apiVersion")
    if got_kind and got_kind != kind:
        raise errors.bad_request(
            f"the kind of the provided object ({got_kind}) does not match the kind of the request ({kind})"
        )
    if got_version and got_version != api_version:
        raise errors.bad_request(
            f"the API version in the data ({got_version}) does not match the expected API version ({api_version})"
        )
    if list(obj)[:2] != ["apiVersion", "kind"]:
        # Kind and apiVersion first, as Kubernetes writes them (clients that omit them get them in that place).
        rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        obj.clear()
        obj.update({"apiVersion": api_version, "kind": kind, **rest})


def check_namespace(obj: Obj, namespace: str | None) -> None:
    md = obj.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise errors.bad_request("metadata must be an object")
    body_ns = (md or {}).get("namespace")
    if namespace and body_ns and body_ns != namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )


def flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def int_param(request: Request, name: str) -> int | None:
    """An integer query parameter (int64, as every Kubernetes one is); 400 for anything else."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw) if len(raw) <= 20 else None
    except ValueError:
        value = None
    if value is None or not INT64_MIN <= value <= INT64_MAX:
        raise errors.bad_request(f"invalid value for {name}: {raw[:64]!r}: must be a 64-bit integer")
    return value


def wants_table(request: Request) -> bool:
    return "as=Table" in request.headers.get("accept", "")


def read_delete_options(data: Obj, opts: Any) -> None:
    """The fields of a DeleteOptions body into `opts` (a registry.DeleteOptions); 400 for a field of the wrong
    type, as kube-apiserver's decoder answers."""

    def typed(key: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or (isinstance(value, bool) and kind is int)):
            raise errors.bad_request(f"DeleteOptions: {key} must be {what}")
        return value

    policy = typed("propagationPolicy", str, "a string")
    opts.propagation_policy = policy or opts.propagation_policy
    orphan = typed("orphanDependents", bool, "a boolean")
    if orphan is not None:
        opts.orphan_dependents = orphan
    grace = typed("gracePeriodSeconds", int, "an integer")
    if grace is not None:
        if not INT64_MIN <= grace <= INT64_MAX:
            raise errors.bad_request("DeleteOptions: gracePeriodSeconds must be a 64-bit integer")
        opts.grace_period_seconds = grace
    pre = typed("preconditions", dict, "an object") or {}
    uid, rv = pre.get("uid"), pre.get("resourceVersion")
    if not isinstance(uid, str | None) or not isinstance(rv, str | None):
        raise errors.bad_request(
            "DeleteOptions: preconditions.uid and preconditions.resourceVersion must be strings"
        )
    opts.precondition_uid, opts.precondition_rv = uid, rv
    dry_run = typed("dryRun", list, "a list")
    if dry_run:
        if any(v != "All" for v in dry_run):
            raise errors.bad_request('DeleteOptions: dryRun: only "All" is supported')
        opts.dry_run = True
