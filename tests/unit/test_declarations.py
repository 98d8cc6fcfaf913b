"""One declaration per kind: for every kind of the resource table, its OpenAPI schema, strategic merge metadata,
protobuf decoding, table printer and discovery entry all come from its RESOURCES entry and the published schema
of its group, version and kind. A kind added to RESOURCES is checked here without any test change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from apimachinery import patchmeta, schemas
from apimachinery.resources import RESOURCES, ResourceInfo
from apiserver import discovery, printers, protobuf_schema
from apiserver.openapi import OpenAPIDocuments
from apiserver.resourcetable import ResourceTable

TABLE = ResourceTable()
DOCS = OpenAPIDocuments(TABLE)

# Kinds kubectl 1.32's typed clients send as protobuf (create generators, run, expose, drain, autoscale).
SENT_AS_PROTOBUF = {
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "Pod"),
    ("v1", "ResourceQuota"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("policy/v1", "Eviction"),
    ("policy/v1", "PodDisruptionBudget"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
}


def ids(info: ResourceInfo) -> str:
    return f"{info.group_version}/{info.kind}"


@pytest.mark.parametrize("info", RESOURCES, ids=ids)
def test_openapi_schema_is_the_published_one(info: ResourceInfo) -> None:
    name = schemas.for_kind(info.group, info.version, info.kind)
    assert name is not None, f"Kubernetes publishes no schema for {ids(info)}"
    document = DOCS.group_version_document(info.group, info.version)
    assert document is not None
    component = document["components"]["schemas"][name]
    assert component["x-kubernetes-group-version-kind"] == [
        {"group": info.group, "kind": info.kind, "version": info.version}
    ]
    assert component["description"] == schemas.definitions()[name]["description"]
    collection = info.collection_path("{namespace}" if info.namespaced else None)
    # kubectl's validation probe: the patch operation (the create one for create-only kinds) names the kind.
    operation = (
        document["paths"][f"{collection}/{{name}}"]["patch"]
        if "patch" in info.verbs
        else document["paths"][collection]["post"]
    )
    assert operation["x-kubernetes-group-version-kind"] == {
        "group": info.group,
        "version": info.version,
        "kind": info.kind,
    }
    assert "fieldValidation" in {p["name"] for p in operation["parameters"]}


def _published_patch_fields(definition: str) -> dict[str, tuple[str | None, str]]:
    found = {}
    for field, prop in (schemas.definitions()[definition].get("properties") or {}).items():
        if "x-kubernetes-patch-strategy" in prop or "x-kubernetes-patch-merge-key" in prop:
            found[field] = (prop.get("x-kubernetes-patch-merge-key"), prop["x-kubernetes-patch-strategy"])
    return found


def test_create_only_kinds_have_only_their_operations() -> None:
    review = ResourceInfo(
        "tokenreviews", "TokenReview", "authentication.k8s.io", "v1", False, verbs=("create",)
    )
    document = OpenAPIDocuments(ResourceTable([*RESOURCES, review])).group_version_document(
        "authentication.k8s.io", "v1"
    )
    assert document is not None
    # The authentication.k8s.io/v1 kinds are both create-only: TokenReview and SelfSubjectReview.
    assert list(document["paths"]) == [
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        "/apis/authentication.k8s.io/v1/tokenreviews",
    ]
    for path in document["paths"].values():
        assert set(path) == {"post", "parameters"}
    assert "io.k8s.api.authentication.v1.TokenReview" in document["components"]["schemas"]


@pytest.mark.parametrize("info", RESOURCES, ids=ids)
def test_patch_metadata_is_the_published_one(info: ResourceInfo) -> None:
    definition = schemas.for_kind(info.group, info.version, info.kind)
    assert definition is not None
    root = patchmeta.root_fields(info.kind, info.api_version)
    assert root["metadata"].type == schemas.OBJECT_META
    # Every type the kind reaches carries exactly the published merge keys and strategies.
    seen: set[str] = set()
    pending = [definition]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        fields = patchmeta.fields_of(name)
        for field, (key, strategy) in _published_patch_fields(name).items():
            assert (fields[field].merge_key, fields[field].strategy) == (key, strategy), f"{name}.{field}"
        pending += [f.type for f in fields.values() if f.type]
    assert patchmeta.fields_of("ObjectMeta")["finalizers"].strategy == "merge"


@pytest.mark.parametrize("info", RESOURCES, ids=ids)
def test_protobuf_decoding_is_typed_by_the_schema(info: ResourceInfo) -> None:
    message = protobuf_schema.message_for_kind(info.api_version, info.kind)
    if (info.api_version, info.kind) in SENT_AS_PROTOBUF:
        assert message is not None, f"kubectl sends {ids(info)} as protobuf: it needs a message"
    if message is None:
        return
    assert message[1] == schemas.for_kind(info.group, info.version, info.kind)
    properties = schemas.definitions()[message[1]]["properties"]
    for field in protobuf_schema.fields_of(message).values():
        assert field.json in properties


def test_every_kind_kubectl_sends_as_protobuf_has_a_message() -> None:
    missing = [k for k in SENT_AS_PROTOBUF if protobuf_schema.message_for_kind(*k) is None]
    assert missing == []
    assert protobuf_schema.check() == []


@pytest.mark.parametrize("info", RESOURCES, ids=ids)
def test_printer_is_registered_by_kind_or_the_default(info: ResourceInfo) -> None:
    columns, _ = printers.printer_for(info)
    registered = printers.PRINTERS.get((info.group, info.kind))
    assert (columns, _) == (registered or printers.DEFAULT)
    obj: dict[str, Any] = {
        "apiVersion": info.api_version,
        "kind": info.kind,
        "metadata": {"name": "x", "creationTimestamp": "2026-11-27T12:00:00Z"},
    }
    table = printers.to_table(info, [obj], now=datetime(2026, 11, 27, 12, 5, tzinfo=UTC))
    names = [i for i, c in enumerate(table["columnDefinitions"]) if c["format"] == "name"]
    assert names and table["rows"][0]["cells"][names[0]] == "x"
    assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"])


@pytest.mark.parametrize("info", RESOURCES, ids=ids)
def test_discovery_lists_the_declaration(info: ResourceInfo) -> None:
    listed = discovery.resource_list(TABLE, info.group, info.version)
    assert listed is not None
    entry = next(r for r in listed["resources"] if r["name"] == info.resource)
    assert (entry["kind"], entry["namespaced"], entry["shortNames"] if info.short_names else []) == (
        info.kind,
        info.namespaced,
        list(info.short_names),
    )
    assert TABLE.lookup(info.group, info.version, info.resource) is info
