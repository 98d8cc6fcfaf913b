"""`/openapi/v2`: the Swagger 2.0 document of every served kind, in JSON and in gnostic's protobuf form.

client-go's discovery (`OpenAPISchema()`, which helm's client-side validation uses) asks for the protobuf form;
`kubectl get --raw /openapi/v2` and older tools read the JSON. Both are built from what OpenAPI v3 is built from:
the resource table's operations (apiserver.openapi_paths, rewritten here to Swagger's operation form: a `body`
parameter and `consumes` for the request body, `schema` on responses, `type` on parameters) and the one schema
per kind (apimachinery.schemas for built-in kinds, the CRD's schema for custom ones). A custom schema loses what
Swagger 2.0 cannot say (`nullable`, `oneOf`, `anyOf`, `not`), as kube-apiserver's v2 conversion drops them.

The document is rebuilt only when the resources change (a CRD created, changed or deleted); each form is kept
as the bytes served, with its ETag (the quoted upper-case sha512 hex of those bytes, as kube-openapi writes it)
and the time it was built (Last-Modified), so a client's `If-None-Match` gets a 304.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from apimachinery import errors, schemas
from apiserver import openapi_v2_proto
from apiserver.crd.info import CustomResourceInfo
from apiserver.openapi import TITLE, paths_and_definitions
from apiserver.resourcetable import ResourceTable

Schema = dict[str, Any]

_V3_PREFIX = "#/components/schemas/"
# What OpenAPI v3 (a CRD's schema) may say and Swagger 2.0 may not.
_V3_ONLY = frozenset({"nullable", "oneOf", "anyOf", "not"})
PRODUCES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]


def swagger_schema(value: Any) -> Any:
    """A schema (or part of one) in Swagger 2.0 form: `#/definitions/` references, no v3-only keywords."""
    if isinstance(value, list):
        return [swagger_schema(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: Schema = {}
    for key, item in value.items():
        if key in _V3_ONLY:
            continue
        if key == "$ref" and isinstance(item, str):
            out[key] = schemas.REF_PREFIX + item.removeprefix(_V3_PREFIX).removeprefix(schemas.REF_PREFIX)
        elif key in ("properties", "x-kubernetes-group-version-kind") and isinstance(item, dict):
            out[key] = {name: swagger_schema(prop) for name, prop in item.items()}
        elif key.startswith("x-"):
            out[key] = item  # an extension's value is data, not a schema
        else:
            out[key] = swagger_schema(item)
    return out


def _parameter(v3: Schema) -> Schema:
    """A v3 non-body parameter (`schema: {type}`) in Swagger's form (`type` beside `in`)."""
    out = {k: v for k, v in v3.items() if k != "schema"}
    out.update(v3.get("schema") or {})
    return out


def swagger_operation(v3: Schema) -> Schema:
    """One operation of `openapi_paths` in Swagger 2.0's form."""
    out: Schema = {k: v for k, v in v3.items() if k not in ("parameters", "requestBody", "responses")}
    parameters = [_parameter(p) for p in v3.get("parameters") or ()]
    body = v3.get("requestBody")
    if body is not None:
        media = list(body["content"])
        out["consumes"] = media
        schema = swagger_schema(body["content"][media[0]]["schema"])
        parameters.insert(0, {"name": "body", "in": "body", "required": True, "schema": schema})
    if parameters:
        out["parameters"] = parameters
    out["produces"] = PRODUCES
    out["schemes"] = ["https"]
    responses: Schema = {}
    for code, response in v3["responses"].items():
        converted: Schema = {"description": response["description"]}
        content = response.get("content") or {}
        if content:
            converted["schema"] = swagger_schema(next(iter(content.values()))["schema"])
        responses[code] = converted
    out["responses"] = responses
    return out


def swagger_paths(v3_paths: dict[str, Schema]) -> dict[str, Schema]:
    paths: dict[str, Schema] = {}
    for path, item in v3_paths.items():
        converted: Schema = {}
        for key, value in item.items():
            if key == "parameters":
                converted[key] = [_parameter(p) for p in value]
            else:
                converted[key] = swagger_operation(value)
        paths[path] = converted
    return paths


def build_document(table: ResourceTable) -> Schema:
    """The Swagger 2.0 document of every resource the table serves."""
    resources = [info for group, version in table.groups() for info in table.in_group_version(group, version)]
    v3_paths, definitions = paths_and_definitions(resources)
    return {
        "swagger": "2.0",
        "info": {"title": TITLE, "version": schemas.KUBERNETES_VERSION},
        "paths": swagger_paths(v3_paths),
        "definitions": {name: swagger_schema(s) for name, s in definitions.items()},
        "securityDefinitions": {
            "BearerToken": {
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
                "description": "Bearer Token authentication",
            }
        },
        "security": [{"BearerToken": []}],
    }


@dataclass
class Served:
    """One form of the document as served: its bytes, ETag and build time."""

    body: bytes
    etag: str
    built: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    _gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        """The body gzipped (about a sixth of the JSON's size), made on first use."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


def _served(body: bytes) -> Served:
    return Served(body, f'"{hashlib.sha512(body).hexdigest().upper()}"')


class SwaggerDocument:
    """The `/openapi/v2` document of one resource table, built on demand and kept until its resources change."""

    def __init__(self, table: ResourceTable) -> None:
        self.table = table
        self._key: Any = None
        self._document: Schema = {}
        self._forms: dict[str, Served] = {}

    def _current(self) -> None:
        key = tuple(
            (r.group, r.version, r.resource, r.fingerprint if isinstance(r, CustomResourceInfo) else "")
            for r in self.table.all()
        )
        if key != self._key:
            self._document = build_document(self.table)
            self._forms = {}
            self._key = key

    def json(self) -> Served:
        self._current()
        if "json" not in self._forms:
            self._forms["json"] = _served(
                json.dumps(self._document, sort_keys=True, separators=(",", ":")).encode()
            )
        return self._forms["json"]

    def protobuf(self) -> Served:
        self._current()
        if "protobuf" not in self._forms:
            self._forms["protobuf"] = _served(openapi_v2_proto.encode(self._document))
        return self._forms["protobuf"]


JSON = "application/json"
PROTOBUF = openapi_v2_proto.MEDIA_TYPE
_PROTOBUF_TYPES = (openapi_v2_proto.ASKED_MEDIA_TYPE, openapi_v2_proto.MEDIA_TYPE)


def negotiate(accept: str) -> str | None:
    """The media type to answer an Accept header with (JSON for none or `*/*`), or None if neither is wanted.

    Preference follows the q-values; at equal q the first listed wins (client-go lists protobuf alone)."""
    if not accept.strip():
        return JSON
    offers: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in _PROTOBUF_TYPES:
            offers.append((q, index, PROTOBUF))
        elif media in (JSON, "application/*", "*/*"):
            offers.append((q, index, JSON))
    wanted = [o for o in offers if o[0] > 0]
    if not wanted:
        return None
    return max(wanted, key=lambda o: (o[0], -o[1]))[2]


def _not_modified(request: Request, served: Served) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        return served.etag in (tag.strip().removeprefix("W/") for tag in match.split(",")) or match == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since) >= served.built
        except (TypeError, ValueError):
            return False  # an unreadable date: answer in full
    return False


def respond(document: SwaggerDocument, request: Request) -> Response:
    """`GET /openapi/v2`: the negotiated form, with ETag, Last-Modified and Vary; 304 when the client's copy
    is current; 406 NotAcceptable for an Accept header that names neither form; gzipped when the client takes it
    (client-go always does)."""
    media = negotiate(request.headers.get("accept", ""))
    if media is None:
        raise errors.StatusError(406, "NotAcceptable", f"only {JSON} and {_PROTOBUF_TYPES[0]} are served")
    served = document.json() if media == JSON else document.protobuf()
    headers = {
        "ETag": served.etag,
        "Last-Modified": format_datetime(served.built, usegmt=True),
        "Vary": "Accept, Accept-Encoding",
        "Cache-Control": "no-cache, private",
    }
    if _not_modified(request, served):
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        return Response(served.gzipped(), media_type=media, headers=headers)
    return Response(served.body, media_type=media, headers=headers)


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, _, q = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return q.strip().replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
