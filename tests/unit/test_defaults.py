"""Defaulting, kind by kind, against what a real kube-apiserver returns for the same manifests."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from apimachinery import defaults
from apimachinery.defaults import apply_defaults, image_tag, qos_class, set_default_toleration_seconds
from tests import factories


def make_pod(**spec: Any) -> dict[str, Any]:
    spec.setdefault("containers", [{"name": "app", "image": "busybox:1.36"}])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": spec,
    }


def make_deployment(**spec: Any) -> dict[str, Any]:
    spec.setdefault(
        "template",
        {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
        },
    )
    spec.setdefault("selector", {"matchLabels": {"app": "web"}})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


@pytest.fixture(autouse=True)
def restore_toleration_seconds() -> Iterator[None]:
    saved = defaults.DEFAULT_TOLERATION_SECONDS
    yield
    set_default_toleration_seconds(saved)


NOT_READY = {
    "key": "node.kubernetes.io/not-ready",
    "operator": "Exists",
    "effect": "NoExecute",
    "tolerationSeconds": 300,
}
UNREACHABLE = {
    "key": "node.kubernetes.io/unreachable",
    "operator": "Exists",
    "effect": "NoExecute",
    "tolerationSeconds": 300,
}


def test_pod_defaults_match_kube_apiserver() -> None:
    pod = apply_defaults(make_pod())
    assert pod["spec"] == {
        "containers": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "resources": {},
            }
        ],
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": 30,
        "securityContext": {},
        "enableServiceLinks": True,
        "tolerations": [NOT_READY, UNREACHABLE],
    }
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_defaulting_returns_the_same_dict_and_is_idempotent() -> None:
    pod = make_pod()
    once = apply_defaults(pod)
    assert once is pod
    snapshot = copy.deepcopy(once)
    assert apply_defaults(once) == snapshot


def test_client_values_are_kept() -> None:
    pod = apply_defaults(
        make_pod(
            restartPolicy="Never",
            dnsPolicy="Default",
            terminationGracePeriodSeconds=0,
            enableServiceLinks=False,
        )
    )
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["dnsPolicy"] == "Default"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 0
    assert pod["spec"]["enableServiceLinks"] is False
    running = make_pod()
    running["status"] = {"phase": "Running"}
    assert apply_defaults(running)["status"]["phase"] == "Running"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("registry:5000/team/nginx", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry:5000/nginx:1.25", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    pod = apply_defaults(
        make_pod(containers=[{"name": "a", "image": image}], initContainers=[{"name": "i", "image": image}])
    )
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy
    assert pod["spec"]["initContainers"][0]["imagePullPolicy"] == policy


def test_image_tag() -> None:
    assert image_tag("localhost:5000/busybox") == "latest"
    assert image_tag("busybox:musl") == "musl"


def test_container_ports_env_probes_volumes() -> None:
    container = {
        "name": "a",
        "image": "x:1",
        "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
        "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "livenessProbe": {"httpGet": {"port": 80}},
        "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 2},
        "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30},
    }
    volumes = [{"name": "plain"}, {"name": "host", "hostPath": {"path": "/tmp"}}]
    spec = apply_defaults(make_pod(containers=[container], volumes=volumes))["spec"]
    c = spec["containers"][0]
    assert [p["protocol"] for p in c["ports"]] == ["TCP", "UDP"]
    assert c["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name", "apiVersion": "v1"}
    assert c["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["readinessProbe"]["periodSeconds"] == 2
    assert c["startupProbe"]["failureThreshold"] == 30
    assert spec["volumes"] == [
        {"name": "plain", "emptyDir": {}},
        {"name": "host", "hostPath": {"path": "/tmp", "type": ""}},
    ]


def test_pod_requests_default_to_limits_and_qos() -> None:
    guaranteed = make_pod(
        containers=[{"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}]
    )
    spec = apply_defaults(guaranteed)["spec"]
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "64Mi"}
    assert guaranteed["status"]["qosClass"] == "Guaranteed"
    burstable = make_pod(
        containers=[{"name": "a", "image": "x:1", "resources": {"requests": {"cpu": "100m"}}}]
    )
    assert apply_defaults(burstable)["status"]["qosClass"] == "Burstable"
    assert (
        qos_class(
            {
                "containers": [
                    {
                        "resources": {
                            "requests": {"cpu": "0.5", "memory": "1Gi"},
                            "limits": {"cpu": "500m", "memory": "1Gi"},
                        }
                    }
                ]
            }
        )
        == "Guaranteed"
    )


def test_toleration_seconds_setting_and_existing_tolerations() -> None:
    set_default_toleration_seconds(30)
    own = {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 7,
    }
    pod = apply_defaults(make_pod(tolerations=[own]))
    assert pod["spec"]["tolerations"] == [own, {**NOT_READY, "tolerationSeconds": 30}]
    everything = apply_defaults(make_pod(tolerations=[{"operator": "Exists"}]))
    assert everything["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_deployment_defaults() -> None:
    deployment = apply_defaults(make_deployment())
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    template_spec = spec["template"]["spec"]
    assert template_spec["restartPolicy"] == "Always"
    assert template_spec["containers"][0]["imagePullPolicy"] == "Always"
    # Pod-only defaults stay out of templates, as in Kubernetes.
    assert "tolerations" not in template_spec and "enableServiceLinks" not in template_spec
    assert "status" not in deployment


def test_deployment_keeps_zero_replicas_and_recreate() -> None:
    spec = apply_defaults(make_deployment(replicas=0, strategy={"type": "Recreate"}))["spec"]
    assert spec["replicas"] == 0
    assert spec["strategy"] == {"type": "Recreate"}
    partial = apply_defaults(make_deployment(strategy={"rollingUpdate": {"maxSurge": 1}}))["spec"]
    assert partial["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"},
    }


def test_replicaset_defaults() -> None:
    rs = make_deployment()
    rs["kind"] = "ReplicaSet"
    spec = apply_defaults(rs)["spec"]
    assert spec["replicas"] == 1
    assert "strategy" not in spec
    assert spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


def test_service_defaults() -> None:
    svc = factories.service("web", ports=[{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}])
    spec = apply_defaults(svc)["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in spec
    assert spec["ports"] == [
        {"port": 80, "protocol": "TCP", "targetPort": 80},
        {"port": 53, "protocol": "UDP", "targetPort": "dns"},
    ]
    assert svc["status"] == {"loadBalancer": {}}


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_external_services_get_external_traffic_policy(service_type: str) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "spec": {"type": service_type, "ports": [{"port": 80}]}}
    spec = apply_defaults(svc)["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert ("allocateLoadBalancerNodePorts" in spec) == (service_type == "LoadBalancer")


def test_client_ip_affinity_gets_a_timeout() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {"sessionAffinity": "ClientIP", "ports": [{"port": 80}]},
    }
    assert apply_defaults(svc)["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_external_name_service_has_no_traffic_policies() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {"type": "ExternalName", "externalName": "example.com"},
    }
    spec = apply_defaults(svc)["spec"]
    assert "internalTrafficPolicy" not in spec and "externalTrafficPolicy" not in spec


def test_namespace_defaults() -> None:
    ns = apply_defaults({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    terminating = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "x"},
        "status": {"phase": "Terminating"},
    }
    assert apply_defaults(terminating)["status"]["phase"] == "Terminating"


def test_node_allocatable_defaults_to_capacity() -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "status": {"capacity": {"cpu": "2", "pods": "110"}},
    }
    status = apply_defaults(node)["status"]
    assert status["allocatable"] == {"cpu": "2", "pods": "110"}
    status["allocatable"]["cpu"] = "1"
    assert status["capacity"]["cpu"] == "2"


def test_event_endpoints_lease() -> None:
    event = apply_defaults({"apiVersion": "v1", "kind": "Event", "involvedObject": {"kind": "Pod"}})
    assert event["count"] == 1
    assert apply_defaults({"apiVersion": "v1", "kind": "Event", "count": 4})["count"] == 4
    endpoints = apply_defaults(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}],
        }
    )
    assert endpoints["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    lease = apply_defaults(
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n"}}
    )
    assert lease["spec"] == {}


def test_unknown_kinds_and_malformed_input_are_left_alone() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}
    assert apply_defaults(copy.deepcopy(cm)) == cm
    wrong_group = {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "spec": {}}
    assert apply_defaults(copy.deepcopy(wrong_group)) == wrong_group
    malformed = apply_defaults(
        {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": "nope", "volumes": [1]}}
    )
    assert malformed["spec"]["containers"] == "nope"


def test_null_empty_and_probe_zero_values_count_as_unset() -> None:
    container = {
        "name": "a",
        "image": "x:1",
        "imagePullPolicy": "",
        "readinessProbe": {"tcpSocket": {"port": 1}, "timeoutSeconds": 0},
    }
    pod = apply_defaults(make_pod(restartPolicy=None, dnsPolicy="", containers=[container]))
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["dnsPolicy"] == "ClusterFirst"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["spec"]["containers"][0]["readinessProbe"]["timeoutSeconds"] == 1
    zero = apply_defaults(make_deployment(replicas=0, revisionHistoryLimit=0))["spec"]
    assert zero["replicas"] == 0 and zero["revisionHistoryLimit"] == 0
