"""OpenAPI v3 documents: the shape kubectl's validation probe and `kubectl explain` rely on, derived from the
resource table and the published schemas (custom resources from their CRD)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from apimachinery.errors import StatusError
from apimachinery.resources import RESOURCES
from apiserver import fieldcheck, openapi
from apiserver.crd.info import infos_from_crd
from apiserver.openapi import OpenAPIDocuments
from apiserver.resourcetable import ResourceTable
from tests import factories

GROUP_VERSIONS = sorted({(r.group, r.version) for r in RESOURCES})

DOCS = OpenAPIDocuments(ResourceTable())


def doc(group: str, version: str) -> dict[str, Any]:
    document = DOCS.group_version_document(group, version)
    assert document is not None
    return document


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]


def test_root_links_every_group_version_with_its_hash() -> None:
    root = DOCS.root_document()
    assert set(root["paths"]) == {f"apis/{g}/{v}" if g else f"api/{v}" for g, v in GROUP_VERSIONS}
    core = root["paths"]["api/v1"]["serverRelativeURL"]
    assert core == f"/openapi/v3/api/v1?hash={DOCS.document_hash('', 'v1')}"
    apps = DOCS.root_document(server_base="https://example:6443")["paths"]["apis/apps/v1"]
    assert apps["serverRelativeURL"].startswith("https://example:6443/openapi/v3/apis/apps/v1?hash=")


@pytest.mark.parametrize(("group", "version"), GROUP_VERSIONS)
def test_hash_is_upper_sha512_of_the_served_json(group: str, version: str) -> None:
    body = DOCS.group_version_json(group, version)
    digest = DOCS.document_hash(group, version)
    assert re.fullmatch(r"[0-9A-F]{128}", digest)
    assert digest == hashlib.sha512(body).hexdigest().upper()
    assert json.loads(body) == doc(group, version)
    assert DOCS.document_hash(group, version) == digest, "stable across calls"


def test_documents_are_copies() -> None:
    first = doc("", "v1")
    first["paths"].clear()
    assert doc("", "v1")["paths"]


@pytest.mark.parametrize("res", RESOURCES, ids=lambda r: r.resource)
def test_every_resource_has_collection_and_item_paths(res: Any) -> None:
    paths = doc(res.group, res.version)["paths"]
    prefix = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    collection = (
        f"{prefix}/namespaces/{{namespace}}/{res.resource}" if res.namespaced else f"{prefix}/{res.resource}"
    )
    if not res.stored:  # a review: create-only, answered at once, never stored
        assert set(paths[collection]) == {"post", "parameters"}
        assert f"{collection}/{{name}}" not in paths
        if res.namespaced:
            assert f"{prefix}/{res.resource}" not in paths, "nothing to list across namespaces"
        assert paths[collection]["post"]["x-kubernetes-action"] == "post"
        return
    assert {"get", "post", "delete"} <= set(paths[collection])
    item = paths[f"{collection}/{{name}}"]
    assert {"get", "put", "patch", "delete"} <= set(item)
    if res.namespaced:
        assert "get" in paths[f"{prefix}/{res.resource}"], "list across all namespaces"

    patch = item["patch"]
    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    assert patch["x-kubernetes-group-version-kind"] == gvk
    assert patch["x-kubernetes-action"] == "patch"
    names = {p["name"] for p in patch["parameters"]}
    assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names, (
        "kubectl checks the operation's own list"
    )
    assert all(p["in"] == "query" for p in patch["parameters"])
    assert set(patch["requestBody"]["content"]) == {
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    }
    assert {"fieldValidation"} <= {p["name"] for p in item["put"]["parameters"]}
    assert {"fieldValidation"} <= {p["name"] for p in paths[collection]["post"]["parameters"]}


def test_subresource_paths() -> None:
    apps = doc("apps", "v1")["paths"]
    scale = apps["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling",
        "version": "v1",
        "kind": "Scale",
    }
    status = doc("", "v1")["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/status"]["patch"]
    assert status["x-kubernetes-group-version-kind"]["kind"] == "Pod"


@pytest.mark.parametrize(("group", "version"), GROUP_VERSIONS)
def test_every_ref_resolves_inside_the_document(group: str, version: str) -> None:
    document = doc(group, version)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs
    assert refs <= set(document["components"]["schemas"])


def test_kind_schemas_carry_their_gvk() -> None:
    core, apps = doc("", "v1"), doc("apps", "v1")
    pod = schema(core, "io.k8s.api.core.v1.Pod")
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["spec"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]
    deployment = schema(apps, "io.k8s.api.apps.v1.Deployment")
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    assert (
        schema(apps, "io.k8s.api.autoscaling.v1.Scale")["x-kubernetes-group-version-kind"][0]["kind"]
        == "Scale"
    )
    assert schema(core, "io.k8s.api.core.v1.PodList")["properties"]["items"]["type"] == "array"
    assert "io.k8s.api.core.v1.Pod" not in apps["components"]["schemas"], "only what the document references"


def test_patch_metadata_on_merge_keyed_lists() -> None:
    core = doc("", "v1")
    containers = schema(core, "io.k8s.api.core.v1.PodSpec")["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]
    volumes = schema(core, "io.k8s.api.core.v1.PodSpec")["properties"]["volumes"]
    assert volumes["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    ports = schema(core, "io.k8s.api.core.v1.Container")["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    svc_ports = schema(core, "io.k8s.api.core.v1.ServiceSpec")["properties"]["ports"]
    assert svc_ports["x-kubernetes-patch-merge-key"] == "port"
    finalizers = schema(core, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")["properties"]["finalizers"]
    assert finalizers["x-kubernetes-patch-strategy"] == "merge"
    assert "x-kubernetes-patch-merge-key" not in finalizers
    tolerations = schema(core, "io.k8s.api.core.v1.PodSpec")["properties"]["tolerations"]
    assert "x-kubernetes-patch-strategy" not in tolerations, "atomic upstream"
    assert schema(core, "io.k8s.api.core.v1.Container")["required"] == ["name"]
    strategy = schema(doc("apps", "v1"), "io.k8s.api.apps.v1.DeploymentSpec")["properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"


def test_kind_schemas_are_the_published_ones() -> None:
    pod = schema(doc("", "v1"), "io.k8s.api.core.v1.Pod")
    assert pod["description"].startswith("Pod is a collection of containers")
    assert "enum" not in pod["properties"]["kind"], "the schema file's additions are dropped"
    assert pod["properties"]["kind"]["type"] == "string"
    port = schema(doc("", "v1"), "io.k8s.api.core.v1.ServicePort")["properties"]["targetPort"]
    assert port["allOf"] == [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]
    int_or_string = schema(doc("", "v1"), "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
    assert (int_or_string["type"], int_or_string["format"]) == ("string", "int-or-string")
    for name, body in doc("", "v1")["components"]["schemas"].items():
        assert body.get("description"), name


def test_v3_schema_rewrites_refs() -> None:
    assert openapi.v3_schema({"$ref": "#/definitions/a.B", "description": "d"}) == {
        "allOf": [{"$ref": "#/components/schemas/a.B"}],
        "description": "d",
    }
    nested = openapi.v3_schema({"type": "array", "items": {"$ref": "#/definitions/a.B"}})
    assert nested == {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/a.B"}]}}


@pytest.mark.parametrize("path", ["apis/apps/v2", "api/v2", "apis/nope/v1"])
def test_unknown_group_version(path: str) -> None:
    group, version = openapi.parse_gv_path(path)
    assert DOCS.group_version_document(group, version) is None
    with pytest.raises(StatusError) as err:
        DOCS.group_version_json(group, version)
    assert err.value.code == 404


def test_parse_gv_path() -> None:
    assert openapi.parse_gv_path("api/v1") == ("", "v1")
    assert openapi.parse_gv_path("/openapi/v3/apis/coordination.k8s.io/v1") == ("coordination.k8s.io", "v1")
    with pytest.raises(StatusError):
        openapi.parse_gv_path("apis/apps")


# --- strict field validation ----------------------------------------------------------------------------------


def test_unknown_fields_are_reported_with_their_paths() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"any": "thing"}, "colour": "red"},
        "spec": {
            "containers": [
                {"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}}},
                {
                    "name": "d",
                    "image": "i",
                    "imagePolicy": "x",
                    "ports": [{"containerPort": 1, "hostport": 2}],
                },
            ],
            "affinity": {"anything": {"goes": True}, "nodeAffinity": {}},
        },
        "extra": 1,
    }
    assert unknown_fields(pod) == [
        "metadata.colour",
        "spec.containers[1].imagePolicy",
        "spec.containers[1].ports[0].hostport",
        "spec.affinity.anything",
        "extra",
    ]


def test_realistic_manifests_have_no_unknown_fields() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "finalizers": ["x"],
        },
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "a", "operator": "Exists"}],
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx",
                            "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}],
                            "env": [
                                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                            ],
                            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 2},
                            "livenessProbe": {"exec": {"command": ["true"]}},
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ],
                    "volumes": [
                        {"name": "data", "emptyDir": {}},
                        {"name": "pvc", "persistentVolumeClaim": {}},
                    ],
                    "terminationGracePeriodSeconds": 5,
                    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
                },
            },
        },
    }
    assert unknown_fields(deployment) == []
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    assert unknown_fields(service) == []


def unknown_fields(obj: dict[str, Any]) -> list[str]:
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    return fieldcheck.unknown_fields(obj, fieldcheck.kind_schema(group, version, str(obj.get("kind"))))


def test_unknown_kinds_are_not_checked() -> None:
    assert unknown_fields({"apiVersion": "example.com/v1", "kind": "Widget", "anything": 1}) == []
    assert unknown_fields({"kind": "Pod", "whatever": 1}) == [], "no apiVersion: not our Pod schema"


# --- custom resources -------------------------------------------------------------------------------------------


def test_custom_resource_documents_follow_the_table() -> None:
    table = ResourceTable()
    docs = OpenAPIDocuments(table)
    core_hash = docs.document_hash("", "v1")
    assert "apis/stable.example.com/v1" not in docs.root_document()["paths"]

    crd = factories.crontab_crd()
    table.set_custom(crd["metadata"]["name"], infos_from_crd(crd))
    root = docs.root_document()["paths"]
    assert {"apis/stable.example.com/v1", "apis/stable.example.com/v1beta1"} <= set(root)
    document = docs.group_version_document("stable.example.com", "v1")
    assert document is not None
    kind = document["components"]["schemas"]["com.example.stable.v1.CronTab"]
    assert kind["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "version": "v1", "kind": "CronTab"}
    ]
    assert kind["properties"]["spec"]["properties"]["replicas"]["default"] == 1
    assert kind["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in document["components"]["schemas"]
    listing = document["components"]["schemas"]["com.example.stable.v1.CronTabList"]
    assert listing["x-kubernetes-group-version-kind"][0]["kind"] == "CronTabList"

    item = document["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]["patch"]
    assert item["x-kubernetes-group-version-kind"]["kind"] == "CronTab"
    assert "fieldValidation" in {p["name"] for p in item["parameters"]}
    assert "application/strategic-merge-patch+json" not in item["requestBody"]["content"]
    assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale" in document["paths"]

    # A changed CRD changes its documents' hashes, and only theirs.
    before = docs.document_hash("stable.example.com", "v1")
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["x"] = {
        "type": "string"
    }
    table.set_custom(crd["metadata"]["name"], infos_from_crd(crd))
    assert docs.document_hash("stable.example.com", "v1") != before
    assert docs.document_hash("", "v1") == core_hash

    table.remove_custom(crd["metadata"]["name"])
    assert docs.group_version_document("stable.example.com", "v1") is None
    assert "apis/stable.example.com/v1" not in docs.root_document()["paths"]
