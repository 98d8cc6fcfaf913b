"""Models: camelCase wire names, unknown fields round-trip, timestamps."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from apimachinery.models import (
    KINDS,
    Deployment,
    Endpoints,
    Event,
    KubeModel,
    Lease,
    ListMeta,
    Node,
    NodeSystemInfo,
    Pod,
    Service,
    now_rfc3339,
    parse,
    parse_object,
    parse_time,
    to_dict,
)

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "uid": "0b1c",
        "resourceVersion": "17",
        "creationTimestamp": "2026-11-27T08:17:33Z",
        "labels": {"app": "web"},
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": True}
        ],
        "managedFields": [{"manager": "kubectl", "operation": "Update"}],
    },
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "ports": [{"containerPort": 80, "protocol": "TCP", "hostIP": "127.0.0.1"}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "livenessProbe": {"httpGet": {"port": "http", "path": "/"}, "periodSeconds": 10},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "futureContainerField": {"nested": [1, 2, 3]},
            }
        ],
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "host", "hostPath": {"path": "/tmp"}}],
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}
        },
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}],
        "nodeName": "node-1",
    },
    "status": {
        "phase": "Running",
        "podIP": "10.244.0.7",
        "podIPs": [{"ip": "10.244.0.7"}],
        "hostIP": "192.168.0.2",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-27T08:17:35Z"}],
        "containerStatuses": [
            {
                "name": "app",
                "ready": True,
                "restartCount": 0,
                "image": "busybox:1.36",
                "imageID": "docker://sha256:1",
                "containerID": "docker://abc",
                "state": {"running": {"startedAt": "2026-11-27T08:17:34Z"}},
            }
        ],
    },
}


def test_pod_round_trips_unknown_fields() -> None:
    pod = parse(Pod, copy.deepcopy(POD))
    assert to_dict(pod) == POD


def test_typed_access_uses_snake_case() -> None:
    pod = parse(Pod, POD)
    container = pod.spec.containers[0]
    assert container.ports is not None and container.ports[0].container_port == 80
    assert container.ports[0].host_ip == "127.0.0.1"
    assert container.env is not None and container.env[0].value_from is not None
    assert container.env[0].value_from.field_ref is not None
    assert container.env[0].value_from.field_ref.field_path == "metadata.name"
    assert container.liveness_probe is not None and container.liveness_probe.http_get is not None
    assert container.liveness_probe.http_get.port == "http"
    assert pod.status.pod_ip == "10.244.0.7"
    assert pod.status.container_statuses is not None
    assert pod.status.container_statuses[0].image_id == "docker://sha256:1"
    assert pod.metadata.owner_references is not None and pod.metadata.owner_references[0].controller is True


def test_building_a_model_in_code_gives_wire_names() -> None:
    pod = Pod()
    pod.metadata.name = "x"
    pod.spec.node_name = "n1"
    pod.status.host_ip = "1.2.3.4"
    assert to_dict(pod) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"containers": [], "nodeName": "n1"},
        "status": {"hostIP": "1.2.3.4"},
    }


def test_populate_by_field_name_or_alias() -> None:
    by_alias = parse(Lease, {"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})
    by_name = Lease.model_validate({"spec": {"holder_identity": "a", "lease_duration_seconds": 15}})
    assert to_dict(by_alias) == to_dict(by_name)
    assert to_dict(by_alias)["apiVersion"] == "coordination.k8s.io/v1"


def test_node_system_info_has_all_ten_fields() -> None:
    info = to_dict(NodeSystemInfo())
    assert set(info) == {
        "machineID",
        "systemUUID",
        "bootID",
        "kernelVersion",
        "osImage",
        "containerRuntimeVersion",
        "kubeletVersion",
        "kubeProxyVersion",
        "operatingSystem",
        "architecture",
    }


def test_node_round_trip() -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1"},
        "spec": {
            "podCIDR": "10.244.1.0/24",
            "podCIDRs": ["10.244.1.0/24"],
            "unschedulable": True,
            "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
        },
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-27T08:17:33Z"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.0.2"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": to_dict(NodeSystemInfo(kubelet_version="v1.32.0")),
        },
    }
    parsed = parse(Node, node)
    assert parsed.spec.pod_cidr == "10.244.1.0/24"
    assert parsed.status.node_info is not None and parsed.status.node_info.kubelet_version == "v1.32.0"
    assert to_dict(parsed) == node


def test_service_target_port_int_or_string() -> None:
    svc = parse(
        Service,
        {
            "spec": {
                "clusterIP": "10.96.0.10",
                "ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8080}],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.1"}]}},
        },
    )
    assert svc.spec.ports is not None
    assert [p.target_port for p in svc.spec.ports] == ["http", 8080]
    assert svc.spec.cluster_ip == "10.96.0.10"
    assert to_dict(svc)["spec"]["clusterIP"] == "10.96.0.10"
    assert to_dict(Service())["status"] == {"loadBalancer": {}}


def test_endpoints_event_deployment_round_trip() -> None:
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [
            {
                "addresses": [
                    {"ip": "10.244.0.7", "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "p"}}
                ],
                "notReadyAddresses": [{"ip": "10.244.0.8"}],
                "ports": [{"port": 80, "protocol": "TCP", "name": "http"}],
            }
        ],
    }
    assert to_dict(parse(Endpoints, endpoints)) == endpoints
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {
            "kind": "Pod",
            "name": "web",
            "namespace": "default",
            "uid": "u",
            "fieldPath": "spec",
        },
        "reason": "Scheduled",
        "message": "ok",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
        "count": 1,
        "firstTimestamp": "2026-11-27T08:17:33Z",
        "lastTimestamp": "2026-11-27T08:17:33Z",
        "eventTime": "2026-11-27T08:17:33.000001Z",
    }
    assert to_dict(parse(Event, event)) == event
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 2},
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}],
            },
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
        },
        "status": {
            "replicas": 3,
            "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2026-11-27T08:17:33Z"}],
        },
    }
    parsed = parse(Deployment, deployment)
    assert parsed.spec.strategy is not None and parsed.spec.strategy.rolling_update is not None
    assert parsed.spec.strategy.rolling_update.max_surge == 1
    assert to_dict(parsed) == deployment


def test_list_meta_continue_keyword() -> None:
    assert to_dict(parse(ListMeta, {"continue": "abc", "resourceVersion": "5"})) == {
        "continue": "abc",
        "resourceVersion": "5",
    }
    assert parse(ListMeta, {"continue": "abc"}).continue_ == "abc"


def test_parse_object_picks_the_kind() -> None:
    assert isinstance(parse_object({"kind": "Pod"}), Pod)
    assert isinstance(parse_object({"kind": "ReplicaSet", "apiVersion": "apps/v1"}), KINDS["ReplicaSet"])
    unknown = parse_object({"kind": "ConfigMap", "data": {"a": "b"}})
    assert type(unknown) is KubeModel
    assert to_dict(unknown) == {"kind": "ConfigMap", "data": {"a": "b"}}


def test_wrong_type_in_a_declared_field_is_rejected() -> None:
    with pytest.raises(ValidationError):
        parse(Pod, {"spec": {"containers": "not-a-list"}})


def test_timestamps() -> None:
    stamp = now_rfc3339()
    assert len(stamp) == 20 and stamp.endswith("Z")
    assert abs(parse_time(stamp) - datetime.now(UTC)) < timedelta(seconds=5)
    micro = now_rfc3339(micro=True)
    assert micro.endswith("Z") and "." in micro
    assert parse_time("2026-11-27T08:17:33Z") == datetime(2026, 11, 27, 8, 17, 33, tzinfo=UTC)
    assert parse_time("2026-11-27T09:17:33+01:00") == datetime(2026, 11, 27, 8, 17, 33, tzinfo=UTC)
    assert parse_time("2026-11-27T08:17:33.250000Z").microsecond == 250000
    with pytest.raises(ValueError):
        parse_time("2026-11-27T08:17:33")
    with pytest.raises(ValueError):
        parse_time("yesterday")
