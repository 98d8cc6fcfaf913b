"""kubectl version, api-resources and explain: what kubectl reads from discovery and OpenAPI v3."""

from __future__ import annotations

import json

import pytest

from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl, table

pytestmark = MARKS


def test_version_reports_minor_32(kube: Kubectl, api: Api) -> None:
    served = api.get("/version")
    assert served["minor"] == "32"  # the dispatcher then runs the bundled kubectl 1.32

    text = kube("version")
    assert f"Server Version: {served['gitVersion']}" in text

    reported = json.loads(kube("version", "-o", "json"))["serverVersion"]
    assert reported["major"] == "1" and reported["minor"] == "32"
    assert reported["gitVersion"] == served["gitVersion"]


def test_api_resources_lists_core_apps_and_coordination(kube: Kubectl, api: Api) -> None:
    listed = {r["NAME"]: r for r in table(kube("api-resources"))}

    expected = {
        "pods": ("po", "v1", "true", "Pod"),
        "services": ("svc", "v1", "true", "Service"),
        "nodes": ("no", "v1", "false", "Node"),
        "namespaces": ("ns", "v1", "false", "Namespace"),
        "deployments": ("deploy", "apps/v1", "true", "Deployment"),
        "replicasets": ("rs", "apps/v1", "true", "ReplicaSet"),
    }
    for name, (short, gv, namespaced, kind) in expected.items():
        row = listed[name]
        assert (row["SHORTNAMES"], row["APIVERSION"], row["NAMESPACED"], row["KIND"]) == (
            short,
            gv,
            namespaced,
            kind,
        )
    leases = listed["leases"]
    assert (leases["SHORTNAMES"], leases["APIVERSION"], leases["KIND"]) == (
        "",
        "coordination.k8s.io/v1",
        "Lease",
    )

    # Every resource kubectl lists is one the server documents (and vice versa for the ones with verbs).
    core = {r["name"] for r in api.get("/api/v1")["resources"] if "/" not in r["name"]}
    apps = {r["name"] for r in api.get("/apis/apps/v1")["resources"] if "/" not in r["name"]}
    assert core | apps <= set(listed)

    names = kube("api-resources", "--api-group=apps", "-o", "name").split()
    assert "deployments.apps" in names and "replicasets.apps" in names
    assert "pods" not in names


def test_short_and_qualified_names(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web"))
    api.create(f"/api/v1/namespaces/{ns}/services", factories.service("web", {"app": "web"}))
    for spelling in ("deploy", "deployment", "deployments", "deployments.apps", "deployments.v1.apps"):
        assert kubectl("get", spelling, "-o", "name").split() == ["deployment.apps/web"], spelling
    for spelling in ("svc", "service", "services"):
        assert kubectl("get", spelling, "-o", "name").split() == ["service/web"], spelling
    assert kubectl("get", "deploy/web", "svc/web", "-o", "name").split() == [
        "deployment.apps/web",
        "service/web",
    ]


def _schema_for(api: Api, gv_path: str, kind: str) -> dict:
    root = api.get("/openapi/v3")
    doc = api.get(root["paths"][gv_path]["serverRelativeURL"])
    for schema in doc["components"]["schemas"].values():
        gvks = schema.get("x-kubernetes-group-version-kind", [])
        if any(g["kind"] == kind for g in gvks):
            return schema
    raise AssertionError(f"no schema for {kind} in {gv_path}")


def test_explain_field_descriptions_come_from_openapi(kube: Kubectl, api: Api) -> None:
    text = kube("explain", "pod.spec.containers")
    assert "KIND:       Pod" in text and "VERSION:    v1" in text
    assert "FIELD: containers <[]Container>" in text
    assert "image\t<string>" in text and "name\t<string> -required-" in text

    deploy = _schema_for(api, "apis/apps/v1", "Deployment")
    spec_ref = (
        deploy["properties"]["spec"]["allOf"][0]["$ref"]
        if "allOf" in deploy["properties"]["spec"]
        else (deploy["properties"]["spec"]["$ref"])
    )
    doc = api.get(api.get("/openapi/v3")["paths"]["apis/apps/v1"]["serverRelativeURL"])
    spec_schema = doc["components"]["schemas"][spec_ref.rsplit("/", 1)[1]]
    description = spec_schema["properties"]["replicas"]["description"]

    text = kube("explain", "deployment.spec.replicas")
    assert "GROUP:      apps" in text and "FIELD: replicas <integer>" in text
    assert " ".join(description.split()) in " ".join(text.split())


def test_explain_unknown_field_fails(kube: Kubectl) -> None:
    err = kube.fails("explain", "pod.spec.nosuchfield")
    assert 'field "nosuchfield" does not exist' in err


@pytest.mark.parametrize("resource", ["pods", "deployments", "services", "nodes"])
def test_explain_top_level(kube: Kubectl, resource: str) -> None:
    text = kube("explain", resource)
    assert "FIELDS:" in text and "metadata\t<ObjectMeta>" in text
