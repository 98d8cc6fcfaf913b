"""The Swagger 2.0 document (`/openapi/v2`): built from the same operations and schemas as OpenAPI v3, in
gnostic's protobuf messages without loss, rebuilt when a CRD changes; content negotiation."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from apiserver import openapi_v2, openapi_v2_proto
from apiserver.crd.info import infos_from_crd
from apiserver.openapi import OpenAPIDocuments
from apiserver.openapi_v2 import SwaggerDocument, negotiate, swagger_schema
from apiserver.openapi_v2_proto import NotSwagger, document_message
from apiserver.resourcetable import ResourceTable
from tests import factories

PROTOBUF = openapi_v2_proto.MEDIA_TYPE
ASKED = openapi_v2_proto.ASKED_MEDIA_TYPE


def test_every_kind_of_every_v3_document_is_in_v2() -> None:
    table = ResourceTable()
    v3 = OpenAPIDocuments(table)
    v2 = json.loads(SwaggerDocument(table).json().body)
    for group, version in table.groups():
        document = v3.group_version_document(group, version)
        assert document is not None
        for name, schema in document["components"]["schemas"].items():
            assert name in v2["definitions"]
            assert v2["definitions"][name].get("x-kubernetes-group-version-kind") == schema.get(
                "x-kubernetes-group-version-kind"
            )
        assert set(document["paths"]) <= set(v2["paths"])
    assert "#/components/" not in json.dumps(v2)


def test_operations_take_swaggers_form() -> None:
    v2 = json.loads(SwaggerDocument(ResourceTable()).json().body)
    create = v2["paths"]["/api/v1/namespaces/{namespace}/pods"]["post"]
    assert create["consumes"] == ["application/json"]
    assert create["parameters"][0] == {
        "name": "body",
        "in": "body",
        "required": True,
        "schema": {"$ref": "#/definitions/io.k8s.api.core.v1.Pod"},
    }
    assert create["responses"]["201"] == {
        "description": "Created",
        "schema": {"$ref": "#/definitions/io.k8s.api.core.v1.Pod"},
    }
    listing = v2["paths"]["/api/v1/pods"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit == {
        "name": "limit",
        "in": "query",
        "description": "The maximum number of objects to return.",
        "type": "integer",
        "uniqueItems": True,
    }


def _message_to_json(message: Any) -> Any:
    """Read a gnostic message back (just enough for schemas) to compare with the JSON it came from."""
    out: dict[str, Any] = {}
    if message._ref:
        out["$ref"] = message._ref
    if message.description:
        out["description"] = message.description
    if message.type.value:
        out["type"] = message.type.value[0]
    for field, key in (("format", "format"), ("required", "required")):
        value = getattr(message, field)
        if value:
            out[key] = list(value) if field == "required" else value
    if message.HasField("items"):
        out["items"] = _message_to_json(message.items.schema[0])
    if message.properties.additional_properties:
        out["properties"] = {
            p.name: _message_to_json(p.value) for p in message.properties.additional_properties
        }
    if message.HasField("additional_properties"):
        out["additionalProperties"] = _message_to_json(message.additional_properties.schema)
    for extension in message.vendor_extension:
        out[extension.name] = yaml.safe_load(extension.value.yaml)
    return out


def test_protobuf_holds_every_definition_without_loss() -> None:
    document = json.loads(SwaggerDocument(ResourceTable()).json().body)
    message = document_message(document)
    definitions = {d.name: d.value for d in message.definitions.additional_properties}  # type: ignore[attr-defined]
    assert list(definitions) == list(document["definitions"])
    for name in (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "io.k8s.api.core.v1.Container",
        "io.k8s.api.core.v1.Pod",
    ):
        assert _message_to_json(definitions[name]) == document["definitions"][name]


def test_what_swagger_cannot_say_is_refused() -> None:
    with pytest.raises(NotSwagger, match="nullable"):
        document_message({"swagger": "2.0", "definitions": {"A": {"type": "string", "nullable": True}}})
    with pytest.raises(NotSwagger, match="in"):
        document_message({"swagger": "2.0", "paths": {"/a": {"get": {"parameters": [{"in": "cookie"}]}}}})


def test_custom_schemas_lose_v3_only_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {
            "color": {"type": "string", "nullable": True},
            "size": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
        },
    }
    assert swagger_schema(schema) == {
        "type": "object",
        "properties": {"color": {"type": "string"}, "size": {"x-kubernetes-int-or-string": True}},
    }


def test_the_document_follows_crds_and_keeps_its_etag_otherwise() -> None:
    table = ResourceTable()
    document = SwaggerDocument(table)
    json_etag, proto_etag = document.json().etag, document.protobuf().etag
    assert json_etag != proto_etag
    assert document.json().etag == json_etag

    crd = factories.crontab_crd()
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["note"] = {
        "type": "string",
        "nullable": True,
    }
    table.set_custom(crd["metadata"]["name"], infos_from_crd(crd))
    body = json.loads(document.json().body)
    assert document.json().etag != json_etag
    crontab = body["definitions"]["com.example.stable.v1.CronTab"]
    assert crontab["properties"]["spec"]["properties"]["note"] == {"type": "string"}
    assert document_message(body).swagger == "2.0"  # type: ignore[attr-defined]
    assert document.protobuf().etag != proto_etag

    table.remove_custom(crd["metadata"]["name"])
    assert document.json().etag == json_etag


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (ASKED, PROTOBUF),
        (PROTOBUF, PROTOBUF),
        (f"application/json;q=0.9, {ASKED}", PROTOBUF),
        (f"{ASKED};q=0.1, application/json", "application/json"),
        (f"{ASKED}, application/json", PROTOBUF),
        ("application/json;q=0", None),
        ("text/html", None),
        ("application/json;q=bogus", None),
    ],
)
def test_negotiate(accept: str, wanted: str | None) -> None:
    assert negotiate(accept) == wanted


def test_v2_media_types_match_kube_openapi() -> None:
    assert openapi_v2.PROTOBUF == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert ASKED == "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
