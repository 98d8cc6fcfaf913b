"""Validation: each rule with its Kubernetes field path, reason and message; quantities."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apimachinery.defaults import apply_defaults
from apimachinery.errors import invalid
from apimachinery.validation import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    parse_quantity,
    selector_matches,
    validate,
)
from tests.factories import Obj, manifest


def make_pod(name: str = "web", **spec: Any) -> Obj:
    spec.setdefault("containers", [{"name": "app", "image": "busybox:1.36"}])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }
    return apply_defaults(pod)


def make_service(**spec: Any) -> Obj:
    spec.setdefault("selector", {"app": "web"})
    spec.setdefault("ports", [{"port": 80}])
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": spec,
    }
    return apply_defaults(svc)


def make_workload(kind: str = "Deployment", **spec: Any) -> Obj:
    spec.setdefault("selector", {"matchLabels": {"app": "web"}})
    spec.setdefault(
        "template",
        {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        },
    )
    obj = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "web", "namespace": "default"},
        "spec": spec,
    }
    return apply_defaults(obj)


def fields(obj: Obj, old: Obj | None = None) -> dict[str, str]:
    """field -> reason of every cause (the last one per field)."""
    return {c["field"]: c["reason"] for c in validate(obj, old)}


def message(obj: Obj, field: str, old: Obj | None = None) -> str:
    return next(c["message"] for c in validate(obj, old) if c["field"] == field)


# --- names and metadata ---------------------------------------------------------------------------------------


def test_valid_objects_have_no_causes() -> None:
    assert validate(make_pod()) == []
    assert validate(make_service()) == []
    assert validate(make_workload()) == []
    assert validate(make_workload("ReplicaSet")) == []


def test_bad_pod_name_gives_the_kubernetes_message() -> None:
    causes = validate(make_pod(name="Bad_Pod"))
    assert causes == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "Bad_Pod": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "field": "metadata.name",
        }
    ]
    # The Status the apiserver builds from these causes reads as kube-apiserver's.
    status = invalid("Pod", "Bad_Pod", causes).status()
    assert status["message"].startswith('Pod "Bad_Pod" is invalid: metadata.name: Invalid value: "Bad_Pod": ')


def test_name_or_generate_name_required() -> None:
    pod = make_pod()
    del pod["metadata"]["name"]
    assert validate(pod) == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name or generateName is required",
            "field": "metadata.name",
        }
    ]


def test_generate_name_may_end_with_a_dash() -> None:
    pod = make_pod(name="web-abcde")
    pod["metadata"]["generateName"] = "web-"
    assert validate(pod) == []
    pod["metadata"]["generateName"] = "Web-"
    assert fields(pod) == {"metadata.generateName": "FieldValueInvalid"}


@pytest.mark.parametrize(
    ("kind", "name", "ok"),
    [
        ("Namespace", "team-a", True),
        ("Namespace", "team.a", False),  # namespaces are DNS-1123 labels
        ("Service", "web", True),
        ("Service", "1web", False),  # services are DNS-1035 labels
        ("Node", "node-1.example.com", True),  # nodes are subdomains
        ("Lease", "kube-scheduler", True),
    ],
)
def test_name_syntax_per_kind(kind: str, name: str, ok: bool) -> None:
    api_version = "coordination.k8s.io/v1" if kind == "Lease" else "v1"
    obj: Obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    if kind in ("Service", "Lease"):
        obj["metadata"]["namespace"] = "default"
    if kind == "Service":
        obj["spec"] = {"ports": [{"port": 80}]}
    assert ("metadata.name" not in fields(obj)) is ok


def test_namespace_required_for_namespaced_and_forbidden_for_cluster_scoped() -> None:
    pod = make_pod()
    del pod["metadata"]["namespace"]
    assert fields(pod) == {"metadata.namespace": "FieldValueRequired"}
    pod["metadata"]["namespace"] = "Bad.NS"
    assert fields(pod) == {"metadata.namespace": "FieldValueInvalid"}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "namespace": "default"}}
    assert validate(node) == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: not allowed on this type",
            "field": "metadata.namespace",
        }
    ]


def test_max_name_lengths() -> None:
    assert is_dns1123_label("a" * 63) == [] and is_dns1123_label("a" * 64) == [
        "must be no more than 63 characters"
    ]
    assert is_dns1123_subdomain("a" * 253) == [] and is_dns1123_subdomain("a" * 254)
    assert is_dns1123_label("a.b") == ["must not contain dots"]
    assert is_dns1035_label("9a") and not is_dns1035_label("a9")


def test_labels_and_annotations() -> None:
    pod = make_pod()
    pod["metadata"]["labels"] = {"app": "web", "example.com/tier": "front_end.1"}
    pod["metadata"]["annotations"] = {"Kubectl.Kubernetes.io/last-applied-configuration": "{...}"}
    assert validate(pod) == []
    pod["metadata"]["labels"] = {"bad key!": "x"}
    assert fields(pod) == {"metadata.labels": "FieldValueInvalid"}
    pod["metadata"]["labels"] = {"app": "v" * 64}
    assert (
        message(pod, "metadata.labels") == f'Invalid value: "{"v" * 64}": must be no more than 63 characters'
    )
    pod["metadata"]["labels"] = {}
    pod["metadata"]["annotations"] = {"a/b/c": "x"}
    assert fields(pod) == {"metadata.annotations": "FieldValueInvalid"}
    pod["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert validate(pod) == [
        {
            "reason": "FieldValueTooLong",
            "message": "Too long: must have at most 262144 bytes",
            "field": "metadata.annotations",
        }
    ]


def test_qualified_names_and_label_values() -> None:
    assert is_qualified_name("app.kubernetes.io/name") == []
    assert is_qualified_name("/name") == ["prefix part must be non-empty"]
    assert is_qualified_name("Example.com/name")[0].startswith("prefix part a lowercase RFC 1123 subdomain")
    assert is_qualified_name("-x")[0].startswith("name part must consist of alphanumeric characters")
    assert is_label_value("") == [] and is_label_value("a_b.c-D") == []
    assert is_label_value("-a")


def test_owner_references_and_finalizers() -> None:
    pod = make_pod()
    pod["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": True},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "controller": True},
    ]
    pod["metadata"]["finalizers"] = ["example.com/cleanup", "bad/fin/alizer"]
    assert fields(pod) == {
        "metadata.ownerReferences[1].uid": "FieldValueRequired",
        "metadata.ownerReferences": "FieldValueInvalid",
        "metadata.finalizers": "FieldValueInvalid",
    }


# --- pods -----------------------------------------------------------------------------------------------------


def test_containers_required() -> None:
    pod = make_pod(containers=[])
    assert validate(pod) == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"}
    ]


def test_container_name_image_and_uniqueness() -> None:
    pod = make_pod(
        containers=[{"name": "App", "image": "x:1"}, {"name": "b"}, {"name": "b", "image": "x:1"}],
        initContainers=[{"name": "init", "image": " x"}],
    )
    assert fields(pod) == {
        "spec.containers[0].name": "FieldValueInvalid",
        "spec.containers[1].image": "FieldValueRequired",
        "spec.containers[2].name": "FieldValueDuplicate",
        "spec.initContainers[0].image": "FieldValueInvalid",
    }
    assert message(pod, "spec.containers[2].name") == 'Duplicate value: "b"'
    unnamed = make_pod(containers=[{"image": "x:1"}])
    assert fields(unnamed) == {"spec.containers[0].name": "FieldValueRequired"}


def test_container_ports() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "a",
                "image": "x:1",
                "ports": [
                    {"containerPort": 70000},
                    {"containerPort": 80, "hostPort": -1, "protocol": "ICMP", "name": "http"},
                    {"containerPort": 81, "name": "http"},
                    {"containerPort": 82, "name": "Not_Valid"},
                    {"name": "x"},
                ],
            }
        ]
    )
    assert fields(pod) == {
        "spec.containers[0].ports[0].containerPort": "FieldValueInvalid",
        "spec.containers[0].ports[1].hostPort": "FieldValueInvalid",
        "spec.containers[0].ports[1].protocol": "FieldValueNotSupported",
        "spec.containers[0].ports[2].name": "FieldValueDuplicate",
        "spec.containers[0].ports[3].name": "FieldValueInvalid",
        "spec.containers[0].ports[4].containerPort": "FieldValueRequired",
    }
    assert message(pod, "spec.containers[0].ports[0].containerPort") == (
        "Invalid value: 70000: must be between 1 and 65535, inclusive"
    )
    assert message(pod, "spec.containers[0].ports[1].protocol") == (
        'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'
    )


def test_pod_enums() -> None:
    pod = make_pod(restartPolicy="Sometimes", dnsPolicy="Google")
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Maybe"
    assert fields(pod) == {
        "spec.restartPolicy": "FieldValueNotSupported",
        "spec.dnsPolicy": "FieldValueNotSupported",
        "spec.containers[0].imagePullPolicy": "FieldValueNotSupported",
    }
    assert message(pod, "spec.restartPolicy") == (
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    )


def test_fs_group_change_policy() -> None:
    ok = make_pod(securityContext={"fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch"})
    assert fields(ok) == {}
    bad = make_pod(securityContext={"fsGroup": 2000, "fsGroupChangePolicy": "Sometimes"})
    assert fields(bad) == {"spec.securityContext.fsGroupChangePolicy": "FieldValueNotSupported"}
    assert message(bad, "spec.securityContext.fsGroupChangePolicy") == (
        'Unsupported value: "Sometimes": supported values: "OnRootMismatch", "Always"'
    )


def test_volumes_and_mounts() -> None:
    pod = make_pod(
        volumes=[
            {"name": "data", "emptyDir": {}},
            {"name": "data", "emptyDir": {}},
            {"name": "both", "emptyDir": {}, "hostPath": {"path": "/tmp"}},
            {"name": "host", "hostPath": {"type": "Weird"}},
        ],
        containers=[
            {
                "name": "a",
                "image": "x:1",
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {"name": "missing", "mountPath": "/m"},
                    {"name": "data", "mountPath": "/data"},
                    {"name": "data"},
                ],
            }
        ],
    )
    assert fields(pod) == {
        "spec.volumes[1].name": "FieldValueDuplicate",
        "spec.volumes[2].hostPath": "FieldValueForbidden",
        "spec.volumes[3].hostPath.path": "FieldValueRequired",
        "spec.volumes[3].hostPath.type": "FieldValueNotSupported",
        "spec.containers[0].volumeMounts[1].name": "FieldValueNotFound",
        "spec.containers[0].volumeMounts[2].mountPath": "FieldValueInvalid",
        "spec.containers[0].volumeMounts[3].mountPath": "FieldValueRequired",
    }
    assert message(pod, "spec.containers[0].volumeMounts[1].name") == 'Not found: "missing"'


def test_resource_quantities() -> None:
    resources = {"limits": {"cpu": "500m", "memory": "lots"}, "requests": {"cpu": "1", "memory": "-1Mi"}}
    pod = make_pod(containers=[{"name": "a", "image": "x:1", "resources": resources}])
    assert fields(pod) == {
        "spec.containers[0].resources.limits[memory]": "FieldValueInvalid",
        "spec.containers[0].resources.requests[memory]": "FieldValueInvalid",
        "spec.containers[0].resources.requests[cpu]": "FieldValueInvalid",
    }
    assert message(pod, "spec.containers[0].resources.requests[cpu]") == (
        'Invalid value: "1": must be less than or equal to cpu limit of 500m'
    )
    assert "quantities must match the regular expression" in message(
        pod, "spec.containers[0].resources.limits[memory]"
    )


def test_env_and_probes() -> None:
    container = {
        "name": "a",
        "image": "x:1",
        "env": [
            {"name": ""},
            {"name": "A=B"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.containers"}}},
            {"name": "Y", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "livenessProbe": {"successThreshold": 2, "httpGet": {"port": 0}},
        "readinessProbe": {"periodSeconds": -1},
    }
    pod = make_pod(containers=[container])
    assert fields(pod) == {
        "spec.containers[0].env[0].name": "FieldValueRequired",
        "spec.containers[0].env[1].name": "FieldValueInvalid",
        "spec.containers[0].env[3].valueFrom.fieldRef.fieldPath": "FieldValueNotSupported",
        "spec.containers[0].env[4].valueFrom": "FieldValueInvalid",
        "spec.containers[0].livenessProbe.httpGet.port": "FieldValueInvalid",
        "spec.containers[0].livenessProbe.successThreshold": "FieldValueInvalid",
        "spec.containers[0].readinessProbe": "FieldValueRequired",
        "spec.containers[0].readinessProbe.periodSeconds": "FieldValueInvalid",
    }
    assert message(pod, "spec.containers[0].readinessProbe") == "Required value: must specify a handler type"


def test_tolerations_node_selector_deadline() -> None:
    pod = make_pod(
        tolerations=[
            {"operator": "Equal", "value": "x"},
            {"key": "k", "operator": "Exists", "value": "v"},
            {"key": "k", "operator": "Like"},
            {"key": "k", "effect": "NoSchedule", "tolerationSeconds": 3},
            {"key": "k", "effect": "Sometimes"},
        ],
        nodeSelector={"disk": "ssd!"},
        activeDeadlineSeconds=0,
        nodeName="Node_1",
    )
    assert fields(pod) == {
        "spec.tolerations[0].operator": "FieldValueInvalid",
        "spec.tolerations[1].operator": "FieldValueInvalid",
        "spec.tolerations[2].operator": "FieldValueNotSupported",
        "spec.tolerations[3].effect": "FieldValueInvalid",
        "spec.tolerations[4].effect": "FieldValueNotSupported",
        "spec.nodeSelector": "FieldValueInvalid",
        "spec.activeDeadlineSeconds": "FieldValueInvalid",
        "spec.nodeName": "FieldValueInvalid",
    }


def test_malformed_input_gives_causes_not_exceptions() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "d", "labels": ["a"]}}
    pod["spec"] = {"containers": [{"name": "a", "image": "i", "ports": "80"}, "junk"], "volumes": {"a": 1}}
    assert fields(pod) == {
        "metadata.labels": "FieldValueInvalid",
        "spec.containers[0].ports": "FieldValueInvalid",
        "spec.containers[1]": "FieldValueInvalid",
        "spec.volumes": "FieldValueInvalid",
    }
    assert validate({"apiVersion": "v1", "kind": "Pod", "metadata": "x", "spec": []}) != []
    assert validate("nope")[0]["reason"] == "FieldValueInvalid"  # type: ignore[arg-type]


def test_pod_update_only_images_deadline_and_added_tolerations() -> None:
    old = make_pod(activeDeadlineSeconds=100)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.37"
    new["spec"]["activeDeadlineSeconds"] = 50
    new["spec"]["tolerations"].append({"key": "x", "operator": "Exists", "effect": "NoSchedule"})
    new["metadata"]["labels"] = {"changed": "yes"}
    new["status"] = {"phase": "Running"}
    assert validate(new, old) == []


def test_pod_update_of_other_fields_is_forbidden() -> None:
    old = make_pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["ports"] = [{"containerPort": 81, "protocol": "TCP"}]
    causes = validate(new, old)
    assert [(c["field"], c["reason"]) for c in causes] == [("spec", "FieldValueForbidden")]
    assert causes[0]["message"].startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing"
    )
    assert "spec.containers[0].ports" in causes[0]["message"]


def test_pod_update_tolerations_and_deadline_rules() -> None:
    old = make_pod(activeDeadlineSeconds=100)
    new = copy.deepcopy(old)
    new["spec"]["tolerations"] = new["spec"]["tolerations"][:1]
    new["spec"]["activeDeadlineSeconds"] = 200
    assert fields(new, old) == {
        "spec.tolerations": "FieldValueForbidden",
        "spec.activeDeadlineSeconds": "FieldValueInvalid",
    }


def test_metadata_immutable_on_update() -> None:
    old = make_pod()
    old["metadata"]["uid"] = "u1"
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "other"
    new["metadata"]["uid"] = "u2"
    assert fields(new, old) == {"metadata.name": "FieldValueInvalid", "metadata.uid": "FieldValueInvalid"}
    assert message(new, "metadata.name", old) == 'Invalid value: "other": field is immutable'
    no_uid = copy.deepcopy(old)
    del no_uid["metadata"]["uid"]
    assert validate(no_uid, old) == []


# --- services, endpoints --------------------------------------------------------------------------------------


def test_service_ports_required_unless_headless_or_external_name() -> None:
    assert fields(make_service(ports=[])) == {"spec.ports": "FieldValueRequired"}
    assert validate(make_service(ports=[], clusterIP="None")) == []
    assert validate(make_service(ports=[], type="ExternalName", externalName="db.example.com")) == []
    assert fields(make_service(ports=[], type="ExternalName")) == {"spec.externalName": "FieldValueRequired"}


def test_service_ports() -> None:
    svc = make_service(
        ports=[
            {"name": "http", "port": 0},
            {"name": "http", "port": 81, "targetPort": 70000},
            {"port": 82, "protocol": "ICMP", "targetPort": "Bad_Name"},
            {"name": "dup", "port": 81},
        ]
    )
    assert fields(svc) == {
        "spec.ports[0].port": "FieldValueInvalid",
        "spec.ports[1].name": "FieldValueDuplicate",
        "spec.ports[1].targetPort": "FieldValueInvalid",
        "spec.ports[2].name": "FieldValueRequired",
        "spec.ports[2].protocol": "FieldValueNotSupported",
        "spec.ports[2].targetPort": "FieldValueInvalid",
        "spec.ports[3]": "FieldValueDuplicate",
    }


def test_service_type_selector_cluster_ip_node_port() -> None:
    assert fields(make_service(type="Magic")) == {"spec.type": "FieldValueNotSupported"}
    assert fields(make_service(selector={"app": "a b"})) == {"spec.selector": "FieldValueInvalid"}
    assert fields(make_service(clusterIP="10.96.0.300")) == {"spec.clusterIP": "FieldValueInvalid"}
    assert fields(make_service(type="NodePort", clusterIP="None")) == {"spec.clusterIP": "FieldValueInvalid"}
    assert fields(make_service(ports=[{"port": 80, "nodePort": 30080}])) == {
        "spec.ports[0].nodePort": "FieldValueForbidden"
    }
    assert validate(make_service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])) == []
    assert fields(make_service(sessionAffinity="Sticky")) == {
        "spec.sessionAffinity": "FieldValueNotSupported"
    }


def test_service_cluster_ip_immutable() -> None:
    old = make_service(clusterIP="10.96.0.10")
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    assert validate(new, old) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "10.96.0.11": field is immutable',
            "field": "spec.clusterIP",
        }
    ]
    same = copy.deepcopy(old)
    same["spec"]["ports"][0]["port"] = 8080
    assert validate(same, old) == []


def test_endpoints() -> None:
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [
            {
                "addresses": [{"ip": "10.244.0.7", "nodeName": "n1"}],
                "ports": [{"port": 80, "protocol": "TCP"}],
            },
            {"ports": [{"port": 80}]},
            {"addresses": [{"ip": "nope"}, {}], "ports": [{"port": 80}, {"port": 0, "name": "b"}]},
        ],
    }
    assert fields(endpoints) == {
        "subsets[1]": "FieldValueRequired",
        "subsets[2].addresses[0].ip": "FieldValueInvalid",
        "subsets[2].addresses[1].ip": "FieldValueRequired",
        "subsets[2].ports[0].name": "FieldValueRequired",
        "subsets[2].ports[1].port": "FieldValueInvalid",
    }


# --- apps -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet"])
def test_selector_required_and_must_match_template(kind: str) -> None:
    missing = make_workload(kind)
    del missing["spec"]["selector"]
    assert fields(missing) == {"spec.selector": "FieldValueRequired"}
    assert fields(make_workload(kind, selector={})) == {"spec.selector": "FieldValueInvalid"}
    mismatch = make_workload(kind, selector={"matchLabels": {"app": "other"}})
    assert validate(mismatch) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
            "field": "spec.template.metadata.labels",
        }
    ]
    assert fields(make_workload(kind, replicas=-1)) == {"spec.replicas": "FieldValueInvalid"}


def test_workload_template_rules() -> None:
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "a"}]},
    }
    assert fields(make_workload(template=template)) == {
        "spec.template.spec.restartPolicy": "FieldValueNotSupported",
        "spec.template.spec.containers[0].image": "FieldValueRequired",
    }
    no_template = make_workload()
    del no_template["spec"]["template"]
    assert fields(no_template) == {"spec.template": "FieldValueRequired"}


def test_selector_expressions() -> None:
    selector = {
        "matchExpressions": [
            {"key": "app", "operator": "In", "values": ["web"]},
            {"key": "tier", "operator": "In"},
            {"key": "env", "operator": "Exists", "values": ["x"]},
            {"key": "x", "operator": "Near"},
        ]
    }
    assert fields(make_workload(selector=selector)) == {
        "spec.selector.matchExpressions[1].values": "FieldValueRequired",
        "spec.selector.matchExpressions[2].values": "FieldValueForbidden",
        "spec.selector.matchExpressions[3].operator": "FieldValueInvalid",
    }
    labels = {"app": "web", "tier": "fe"}
    assert selector_matches(
        {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, labels
    )
    assert selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["be"]}]}, labels
    )
    assert not selector_matches({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, labels)


def test_deployment_strategy() -> None:
    assert fields(make_workload(strategy={"type": "Canary"})) == {
        "spec.strategy.type": "FieldValueNotSupported"
    }
    recreate = make_workload(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
    assert fields(recreate) == {"spec.strategy.rollingUpdate": "FieldValueForbidden"}
    zero = make_workload(
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}
    )
    assert message(zero, "spec.strategy.rollingUpdate.maxUnavailable") == (
        'Invalid value: "0%": may not be 0 when `maxSurge` is 0'
    )
    bad = make_workload(strategy={"rollingUpdate": {"maxSurge": "ten", "maxUnavailable": "150%"}})
    assert fields(bad) == {
        "spec.strategy.rollingUpdate.maxSurge": "FieldValueInvalid",
        "spec.strategy.rollingUpdate.maxUnavailable": "FieldValueInvalid",
    }
    assert fields(make_workload(progressDeadlineSeconds=5, minReadySeconds=10)) == {
        "spec.progressDeadlineSeconds": "FieldValueInvalid"
    }


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet"])
def test_selector_immutable(kind: str) -> None:
    old = make_workload(kind)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert validate(new, old) == []
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
    new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    causes = validate(new, old)
    assert [(c["field"], c["reason"]) for c in causes] == [("spec.selector", "FieldValueInvalid")]
    assert causes[0]["message"].endswith(": field is immutable")


# --- the other kinds ------------------------------------------------------------------------------------------


def test_node() -> None:
    taints = [
        {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "other", "effect": "NoSchedule"},
        {"key": "", "effect": "Never"},
    ]
    spec = {"podCIDR": "10.244.1.0/33", "taints": taints}
    node = manifest("v1", "Node", "n1", spec=spec, status={"capacity": {"cpu": "4", "memory": "eight"}})
    assert fields(node) == {
        "spec.podCIDR": "FieldValueInvalid",
        "spec.taints[1]": "FieldValueDuplicate",
        "spec.taints[2].key": "FieldValueRequired",
        "spec.taints[2].effect": "FieldValueNotSupported",
        "status.capacity[memory]": "FieldValueInvalid",
    }
    node["spec"] = {"podCIDR": "10.244.1.0/24"}
    node["status"] = {"capacity": {"cpu": "4", "memory": "8Gi"}}
    assert validate(apply_defaults(node)) == []


def test_namespace_event_lease_binding() -> None:
    ns = apply_defaults({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert validate(ns) == []
    ns["spec"]["finalizers"] = ["bad finalizer"]
    assert fields(ns) == {"spec.finalizers[0]": "FieldValueInvalid"}

    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "default"}}
    assert fields(event) == {"involvedObject": "FieldValueRequired"}
    event["involvedObject"] = {"kind": "Pod", "name": "web", "namespace": "other"}
    event["type"] = "Info"
    assert fields(event) == {
        "involvedObject.namespace": "FieldValueInvalid",
        "type": "FieldValueNotSupported",
    }
    event["involvedObject"] = {"kind": "Node", "name": "n1"}  # cluster-scoped objects' events live in default
    event["type"] = "Normal"
    assert validate(event) == []

    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "n1", "namespace": "x"},
    }
    lease["spec"] = {"holderIdentity": "n1", "leaseDurationSeconds": 0, "leaseTransitions": -1}
    assert fields(lease) == {
        "spec.leaseDurationSeconds": "FieldValueInvalid",
        "spec.leaseTransitions": "FieldValueInvalid",
    }

    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "p", "namespace": "d"},
        "target": {},
    }
    assert fields(binding) == {"target.name": "FieldValueRequired"}


def test_unknown_kind_gets_metadata_checks_only() -> None:
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "Robot", "namespace": "d"},
        "automountServiceAccountToken": "x",
    }
    assert fields(sa) == {"metadata.name": "FieldValueInvalid"}
    custom = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validate(custom) == []


# --- quantities -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", 0.1),
        ("1", 1.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("2", 2.0),
        ("128Mi", 134217728.0),
        ("1Ki", 1024.0),
        ("1Gi", 1073741824.0),
        ("1G", 1e9),
        ("1k", 1000.0),
        ("1M", 1e6),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("2E", 2e18),
        ("1.5e-3", 0.0015),
        ("250u", 0.00025),
        ("10n", 1e-8),
        ("+3", 3.0),
        ("-1", -1.0),
        (4, 4.0),
        (0.25, 0.25),
    ],
)
def test_parse_quantity(text: str | int | float, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text", ["", "abc", "Mi", "1.2.3", "1KB", "1 Gi", "1e", "1Mi2", "--1", True, None, float("nan")]
)
def test_parse_quantity_rejects(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)


# --- robustness: any JSON shape gives causes, never an exception -----------------------------------------------

JUNK: list[Any] = [None, -1, "x", "", [], {}, [1], {"a": 1}, True, 1.5, [None]]


def _leaf_paths(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _leaf_paths(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _leaf_paths(value, (*path, i))
    return out


def _replaced(obj: Obj, path: tuple[Any, ...], value: Any) -> Obj:
    out = copy.deepcopy(obj)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = copy.deepcopy(value)
    return out


@pytest.mark.parametrize(
    "base",
    [
        make_pod(
            volumes=[{"name": "d", "emptyDir": {}}],
            containers=[
                {
                    "name": "a",
                    "image": "x:1",
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "resources": {"limits": {"cpu": "1"}},
                    "volumeMounts": [{"name": "d", "mountPath": "/d"}],
                    "livenessProbe": {"httpGet": {"port": 80}},
                }
            ],
        ),
        make_service(type="NodePort", ports=[{"name": "a", "port": 80, "nodePort": 30001}]),
        make_workload(selector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}),
    ],
    ids=["pod", "service", "deployment"],
)
def test_malformed_values_anywhere_never_raise(base: Obj) -> None:
    for path in _leaf_paths(base):
        for junk in JUNK:
            broken = _replaced(base, path, junk)
            for causes in (validate(broken), validate(broken, base), validate(base, broken)):
                assert all(set(c) == {"reason", "message", "field"} for c in causes)
            apply_defaults(broken)
