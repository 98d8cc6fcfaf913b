"""What another issue adds in parallel needs nothing kind-specific here: a RESOURCES entry (RBAC, the reviews of
authentication.k8s.io) and protobuf lines in the current notation are enough for OpenAPI, patch metadata and
protobuf decoding, including short names that several packages share (`Subject`, `TokenRequest`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apimachinery import patchmeta, resources, schemas
from apimachinery.resources import ResourceInfo
from apiserver import protobuf_schema
from apiserver.openapi import OpenAPIDocuments
from apiserver.protobuf import decode
from apiserver.resourcetable import ResourceTable
from tests.unit.test_protobuf import envelope, msg, num

ADDED = (
    ResourceInfo("rolebindings", "RoleBinding", "rbac.authorization.k8s.io", "v1", True),
    ResourceInfo("tokenreviews", "TokenReview", "authentication.k8s.io", "v1", False, verbs=("create",)),
)
# Lines as the other issue writes them: types given, written or left to the schema.
LINES = """
RoleBinding: metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef!
Subject: kind=1! apiGroup=2 name=3! namespace=4
RoleRef: apiGroup=1! kind=2! name=3!
TokenRequest: metadata=1 spec=2:TokenRequestSpec status=3
TokenRequestSpec: audiences=1:[string] expirationSeconds=4:int! boundObjectRef=3:BoundObjectReference
BoundObjectReference: kind=1 apiVersion=2 name=3 uid=4
"""


@pytest.fixture
def added(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ResourceInfo, ...]]:
    table = (*resources.RESOURCES, *ADDED)
    monkeypatch.setattr(resources, "RESOURCES", table)
    monkeypatch.setattr(
        protobuf_schema, "OVERLAY", {**protobuf_schema.OVERLAY, **protobuf_schema._parse(LINES)}
    )
    caches = (schemas._served_packages, protobuf_schema.fields_of)
    for cached in caches:
        cached.cache_clear()
    yield table
    for cached in caches:
        cached.cache_clear()


def test_their_lines_check_and_decode(added: tuple[ResourceInfo, ...]) -> None:
    assert protobuf_schema.check() == []
    assert schemas.resolve("Subject") == "io.k8s.api.rbac.v1.Subject"
    assert schemas.resolve("TokenRequest") == "io.k8s.api.authentication.v1.TokenRequest"
    subject = msg(2, msg(1, "User"), msg(2, "rbac.authorization.k8s.io"), msg(3, "ann"))
    role_ref = msg(3, msg(1, "rbac.authorization.k8s.io"), msg(2, "Role"), msg(3, "reader"))
    binding = decode(
        envelope("rbac.authorization.k8s.io/v1", "RoleBinding", msg(1, msg(1, "b")) + subject + role_ref)
    )
    assert binding["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "ann"}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    request = decode(envelope("authentication.k8s.io/v1", "TokenRequest", msg(2, msg(1, "api"), num(4, 600))))
    assert request["spec"] == {"audiences": ["api"], "expirationSeconds": 600}


def test_their_kinds_get_openapi_and_patch_metadata(added: tuple[ResourceInfo, ...]) -> None:
    docs = OpenAPIDocuments(ResourceTable(added))
    rbac = docs.group_version_document("rbac.authorization.k8s.io", "v1")
    assert rbac is not None
    binding = rbac["components"]["schemas"]["io.k8s.api.rbac.v1.RoleBinding"]
    assert binding["x-kubernetes-group-version-kind"][0]["kind"] == "RoleBinding"
    authn = docs.group_version_document("authentication.k8s.io", "v1")
    assert authn is not None and list(authn["paths"]) == [
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        "/apis/authentication.k8s.io/v1/tokenreviews",
    ]
    fields = patchmeta.root_fields("RoleBinding", "rbac.authorization.k8s.io/v1")
    assert fields["subjects"].type == "io.k8s.api.rbac.v1.Subject"
    assert fields["metadata"].type == schemas.OBJECT_META
