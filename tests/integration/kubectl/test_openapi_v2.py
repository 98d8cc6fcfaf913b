"""`/openapi/v2` against a real apiserver: the JSON that `kubectl get --raw` reads, the gnostic protobuf that
client-go's discovery asks for (helm's validation), ETag revalidation, and a CRD's kind appearing and going."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import yaml

from apiserver import openapi_v2_proto
from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl
from tests.polling import wait_until

pytestmark = MARKS

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
# What client-go asks for, and what kube-apiserver answers with (Go's mime parser refuses the `@`).
PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
ANSWERED = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def served_kinds(api: Api) -> set[tuple[str, str, str]]:
    """(group, version, kind) of every resource discovery lists (subresources left out)."""
    kinds = {("", "v1", r["kind"]) for r in api.get("/api/v1")["resources"] if "/" not in r["name"]}
    for group in api.get("/apis")["groups"]:
        for version in group["versions"]:
            listed = api.get(f"/apis/{version['groupVersion']}")["resources"]
            kinds |= {(group["name"], version["version"], r["kind"]) for r in listed if "/" not in r["name"]}
    return kinds


def document_kinds(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (gvk["group"], gvk["version"], gvk["kind"])
        for schema in document["definitions"].values()
        for gvk in schema.get("x-kubernetes-group-version-kind") or ()
    }


def refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(refs(v) for v in value))
    return set()


def test_kubectl_reads_swagger_listing_every_served_kind(kube: Kubectl, api: Api) -> None:
    document = json.loads(kube("get", "--raw", "/openapi/v2"))

    assert document["swagger"] == "2.0"
    assert document["info"]["title"] == "Kubernetes"
    assert served_kinds(api) <= document_kinds(document)
    # Every reference resolves inside the document.
    missing = {r for r in refs(document) if r.removeprefix("#/definitions/") not in document["definitions"]}
    assert not missing
    deployments = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = deployments["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert patch["parameters"][0] == {
        "name": "body",
        "in": "body",
        "required": True,
        "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"},
    }
    assert patch["responses"]["200"]["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}
    assert {"name": "fieldValidation", "in": "query", "type": "string"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation"
    ).items()


def test_kubectl_explains_from_the_protobuf_form(kube: Kubectl) -> None:
    # The v2 explainer reads client-go's OpenAPISchema(): the gnostic protobuf, parsed into kube-openapi models.
    text = kube("explain", "deployment.spec.replicas", "--output=plaintext-openapiv2")
    assert "KIND:     Deployment" in text and "FIELD:    replicas <integer>" in text
    assert "Number of desired pods" in text


def test_protobuf_form_holds_the_same_document(api: Api) -> None:
    reply = api.http.get("/openapi/v2", headers={"Accept": PROTOBUF})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == ANSWERED
    assert reply.headers["content-encoding"] == "gzip"  # httpx asked for it, and unpacked it
    message = openapi_v2_proto.message_class("Document").FromString(reply.content)
    as_json = api.get("/openapi/v2")

    assert message.swagger == "2.0"  # type: ignore[attr-defined]
    definitions = {d.name: d.value for d in message.definitions.additional_properties}  # type: ignore[attr-defined]
    assert set(definitions) == set(as_json["definitions"])
    pod = definitions["io.k8s.api.core.v1.Pod"]
    extensions = {e.name: yaml.safe_load(e.value.yaml) for e in pod.vendor_extension}
    # kube-openapi finds a kind's model by this extension's YAML text.
    assert extensions["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    spec = {p.name: p.value for p in pod.properties.additional_properties}["spec"]
    assert spec._ref == "#/definitions/io.k8s.api.core.v1.PodSpec"
    paths = {p.name for p in message.paths.path}  # type: ignore[attr-defined]
    assert paths == set(as_json["paths"])


def test_etag_revalidation_and_negotiation(api: Api) -> None:
    first = api.http.get("/openapi/v2")
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(etag) == 130  # the quoted sha512 hex
    assert first.headers["vary"] == "Accept, Accept-Encoding"
    assert "last-modified" in first.headers

    again = api.http.get("/openapi/v2", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag

    proto = api.http.get("/openapi/v2", headers={"Accept": PROTOBUF})
    assert proto.headers["etag"] != etag  # each form has its own
    stale = api.http.get("/openapi/v2", headers={"Accept": PROTOBUF, "If-None-Match": etag})
    assert stale.status_code == 200 and stale.content == proto.content

    refused = api.http.get("/openapi/v2", headers={"Accept": "text/html"})
    assert refused.status_code == 406
    assert refused.json()["kind"] == "Status" and refused.json()["reason"] == "NotAcceptable"


def test_a_crd_kind_comes_and_goes(api: Api) -> None:
    group = f"k{uuid.uuid4().hex[:8]}.example.com"
    crd = factories.crontab_crd(group=group)
    before = api.http.get("/openapi/v2").headers["etag"]
    api.create(CRDS, crd)
    try:
        # The kind is served (and documented) once the CRD is Established.
        document = wait_until(
            lambda: (d := api.get("/openapi/v2")) and (group, "v1", "CronTab") in document_kinds(d) and d,
            10,
            what="the CRD's kind in /openapi/v2",
        )
        reversed_group = ".".join(reversed(group.split(".")))
        crontab = document["definitions"][f"{reversed_group}.v1.CronTab"]
        assert crontab["properties"]["spec"]["properties"]["cronSpec"]["type"] == "string"
        assert f"/apis/{group}/v1/namespaces/{{namespace}}/crontabs/{{name}}" in document["paths"]
        assert api.http.get("/openapi/v2", headers={"If-None-Match": before}).status_code == 200
    finally:
        api.delete(f"{CRDS}/{crd['metadata']['name']}")
    wait_until(
        lambda: (group, "v1", "CronTab") not in document_kinds(api.get("/openapi/v2")),
        10,
        what="the CRD's kind gone from /openapi/v2",
    )


@pytest.mark.parametrize("accept", ["application/json", "*/*", "", "application/json;q=0.5, " + PROTOBUF])
def test_accept_header_picks_the_form(api: Api, accept: str) -> None:
    reply = api.http.get("/openapi/v2", headers={"Accept": accept} if accept else {})
    assert reply.status_code == 200
    wanted = ANSWERED if PROTOBUF in accept else "application/json"
    assert reply.headers["content-type"] == wanted
