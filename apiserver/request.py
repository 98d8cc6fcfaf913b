"""Reading a request: the resource path, the body (JSON or YAML, size-limited) and the query options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from starlette.requests import Request

from apimachinery import errors, serialization
from apimachinery.resources import ResourceInfo, by_resource
from apimachinery.user import UserInfo
from apiserver import protobuf

Obj = dict[str, Any]


@dataclass
class Target:
    info: ResourceInfo
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_path: bool = False  # the deprecated /watch/ path form


def parse_path(group: str, version: str, parts: list[str]) -> Target:
    """Resolve `[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]` under a group-version."""
    watch_path = False
    if parts and parts[0] == "watch":
        watch_path = True
        parts = parts[1:]
    namespace: str | None = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        candidate = by_resource(group, parts[2])
        if candidate is not None and candidate.namespaced:
            namespace = parts[1]
            parts = parts[2:]
    if not parts or not parts[0]:
        raise errors.path_not_found()
    info = by_resource(group, parts[0])
    if info is None or info.version != version:
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


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.too_large(f"the request body is {declared} bytes, over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.too_large(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
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
        return serialization.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"the body of the request could not be decoded as JSON: {exc}") from None


def _yaml(body: bytes) -> Any:
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
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


def int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f"invalid value for {name}: {raw!r}") from None


def wants_table(request: Request) -> bool:
    return "as=Table" in request.headers.get("accept", "")
