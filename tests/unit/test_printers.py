"""Server-side Table output: the columns and cells `kubectl get` prints, per resource."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apimachinery.resources import RESOURCES, ResourceInfo
from apiserver import printers
from apiserver.printers import format_selector, human_duration, pod_status

# Kinds the printers know that the table does not serve yet, and one nobody knows.
_OTHERS = {
    "daemonsets": ResourceInfo("daemonsets", "DaemonSet", "apps", "v1", True),
    "jobs": ResourceInfo("jobs", "Job", "batch", "v1", True),
    "widgets": ResourceInfo("widgets", "Widget", "example.com", "v1", True),
}


def to_table(resource: str, objs: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    info = next((r for r in RESOURCES if r.resource == resource), None) or _OTHERS[resource]
    return printers.to_table(info, objs, **kwargs)


NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, age: float = 300, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
        "creationTimestamp": ago(age),
        **extra,
    }


def make_pod(
    name: str = "web",
    *,
    containers: int = 1,
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    phase: str = "Running",
    conditions: list[dict[str, Any]] | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "busybox"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    status: dict[str, Any] = {"phase": phase, "conditions": conditions or []}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    return {"metadata": meta(name, **metadata), "spec": spec, "status": status}


def cstatus(state: dict[str, Any], *, ready: bool = False, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": "c0", "ready": ready, "restartCount": restarts, "state": state, **extra}


def headers(table: dict[str, Any], priority: int | None = None) -> list[str]:
    return [c["name"] for c in table["columnDefinitions"] if priority is None or c["priority"] == priority]


def cells(resource: str, obj: dict[str, Any]) -> list[Any]:
    return to_table(resource, [obj], now=NOW)["rows"][0]["cells"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (30 * 3600, "30h"),
        (2 * 86400 + 3 * 3600, "2d3h"),
        (5 * 86400, "5d"),
        (100 * 86400, "100d"),
        (3 * 365 * 86400 + 86400, "3y1d"),
        (10 * 365 * 86400, "10y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


# --- pods -----------------------------------------------------------------------------------------------------


def test_pod_table_shape() -> None:
    pod = make_pod(
        statuses=[cstatus({"running": {}}, ready=True)], conditions=[{"type": "Ready", "status": "True"}]
    )
    pod["metadata"]["labels"] = {"app": "web"}
    pod["spec"]["nodeName"] = "node-1"
    pod["status"]["podIP"] = "10.244.0.7"
    table = to_table("pods", [pod], list_meta={"resourceVersion": "181"}, now=NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "181"}
    assert headers(table, 0) == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert headers(table, 1) == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    assert table["columnDefinitions"][0]["format"] == "name"
    assert all(
        set(c) == {"name", "type", "format", "description", "priority"} for c in table["columnDefinitions"]
    )
    row = table["rows"][0]
    assert row["cells"] == ["web", "1/1", "Running", "0", "5m", "10.244.0.7", "node-1", "<none>", "<none>"]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": pod["metadata"],
    }


def test_include_object_modes() -> None:
    pod = make_pod()
    assert to_table("pods", [pod], include_object="Object", now=NOW)["rows"][0]["object"] == pod
    assert "object" not in to_table("pods", [pod], include_object="None", now=NOW)["rows"][0]
    assert to_table("pods", [], now=NOW)["rows"] == []


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (make_pod(phase="Pending"), ("0/1", "Pending", "0")),
        (
            make_pod(phase="Pending", statuses=[cstatus({"waiting": {"reason": "ContainerCreating"}})]),
            ("0/1", "ContainerCreating", "0"),
        ),
        (
            make_pod(
                statuses=[
                    cstatus(
                        {"waiting": {"reason": "CrashLoopBackOff"}},
                        restarts=3,
                        lastState={"terminated": {"exitCode": 1, "finishedAt": ago(120)}},
                    )
                ]
            ),
            ("0/1", "CrashLoopBackOff", "3 (2m ago)"),
        ),
        (
            make_pod(phase="Failed", statuses=[cstatus({"terminated": {"exitCode": 1, "reason": "Error"}})]),
            ("0/1", "Error", "0"),
        ),
        (
            make_pod(
                phase="Succeeded", statuses=[cstatus({"terminated": {"exitCode": 0, "reason": "Completed"}})]
            ),
            ("0/1", "Completed", "0"),
        ),
        (
            make_pod(statuses=[cstatus({"terminated": {"exitCode": 137}})]),
            ("0/1", "ExitCode:137", "0"),
        ),
        (
            make_pod(statuses=[cstatus({"terminated": {"exitCode": 0, "signal": 9}})]),
            ("0/1", "Signal:9", "0"),
        ),
        (
            make_pod(phase="Pending", statuses=[cstatus({"waiting": {"reason": "ImagePullBackOff"}})]),
            ("0/1", "ImagePullBackOff", "0"),
        ),
        (
            make_pod(phase="Pending", statuses=[cstatus({"waiting": {"reason": "ErrImageNeverPull"}})]),
            ("0/1", "ErrImageNeverPull", "0"),
        ),
        (
            make_pod(
                statuses=[cstatus({"running": {}}, ready=True)],
                deletionTimestamp=ago(1),
            ),
            ("1/1", "Terminating", "0"),
        ),
        (
            make_pod(
                phase="Pending",
                init=[{"name": "i0"}],
                init_statuses=[{"name": "i0", "state": {"running": {}}}],
            ),
            ("0/1", "Init:0/1", "0"),
        ),
        (
            make_pod(
                phase="Pending",
                init=[{"name": "i0"}, {"name": "i1"}],
                init_statuses=[
                    {"name": "i0", "state": {"terminated": {"exitCode": 0}}},
                    {"name": "i1", "state": {"waiting": {"reason": "PodInitializing"}}},
                ],
            ),
            ("0/1", "Init:1/2", "0"),
        ),
        (
            make_pod(
                phase="Pending",
                init=[{"name": "i0"}],
                init_statuses=[
                    {"name": "i0", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ],
            ),
            ("0/1", "Init:CrashLoopBackOff", "2"),
        ),
        (
            make_pod(
                phase="Pending",
                init=[{"name": "i0"}],
                init_statuses=[{"name": "i0", "state": {"terminated": {"exitCode": 3}}}],
            ),
            ("0/1", "Init:ExitCode:3", "0"),
        ),
        (
            make_pod(
                containers=2,
                statuses=[
                    cstatus({"running": {}}, ready=True),
                    {"name": "c1", "ready": False, "restartCount": 0, "state": {"running": {}}},
                ],
            ),
            ("1/2", "Running", "0"),
        ),
        (
            # a sidecar (restartable init container) counts in READY and its restarts are shown
            make_pod(
                init=[{"name": "side", "restartPolicy": "Always"}],
                init_statuses=[
                    {
                        "name": "side",
                        "started": True,
                        "ready": True,
                        "restartCount": 1,
                        "state": {"running": {}},
                    }
                ],
                statuses=[cstatus({"running": {}}, ready=True)],
                conditions=[{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            ),
            ("2/2", "Running", "1"),
        ),
        (
            make_pod(
                containers=2,
                statuses=[
                    cstatus({"terminated": {"exitCode": 0, "reason": "Completed"}}),
                    {"name": "c1", "ready": True, "restartCount": 0, "state": {"running": {}}},
                ],
                conditions=[{"type": "Ready", "status": "False"}],
            ),
            ("1/2", "NotReady", "0"),
        ),
    ],
)
def test_pod_status_column(pod: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert pod_status(pod, NOW) == expected


def test_completed_pods_carry_row_conditions() -> None:
    pod = make_pod(
        phase="Succeeded", statuses=[cstatus({"terminated": {"exitCode": 0, "reason": "Completed"}})]
    )
    row = to_table("pods", [pod], now=NOW)["rows"][0]
    assert row["conditions"][0]["type"] == "Completed"


def test_pod_readiness_gates_and_pod_ips() -> None:
    pod = make_pod(conditions=[{"type": "g1", "status": "True"}, {"type": "g2", "status": "False"}])
    pod["spec"]["readinessGates"] = [{"conditionType": "g1"}, {"conditionType": "g2"}]
    pod["status"]["podIPs"] = [{"ip": "10.1.1.1"}, {"ip": "fd00::1"}]
    row = cells("pods", pod)
    assert row[5] == "10.1.1.1"
    assert row[8] == "1/2"


# --- workloads ------------------------------------------------------------------------------------------------


def make_deployment() -> dict[str, Any]:
    return {
        "metadata": meta("web", age=3 * 86400 + 3600),
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}],
            },
            "template": {
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.26"},
                        {"name": "log", "image": "busybox"},
                    ]
                }
            },
        },
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }


def test_deployment_table() -> None:
    table = to_table("deployments", [make_deployment()], now=NOW)
    assert headers(table, 0) == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert headers(table, 1) == ["Containers", "Images", "Selector"]
    assert table["rows"][0]["cells"] == [
        "web",
        "2/3",
        3,
        2,
        "3d1h",
        "nginx,log",
        "nginx:1.26,busybox",
        "app=web,env in (dev,prod)",
    ]


def test_replicaset_table() -> None:
    rs = make_deployment()
    rs["status"] = {"replicas": 3}
    table = to_table("replicasets", [rs], now=NOW)
    assert headers(table, 0) == ["Name", "Desired", "Current", "Ready", "Age"]
    assert headers(table, 1) == ["Containers", "Images", "Selector"]
    assert table["rows"][0]["cells"][:5] == ["web", 3, 3, 0, "3d1h"]


def test_format_selector() -> None:
    assert format_selector(None) == "<none>"
    assert format_selector({}) == "<none>"
    selector = {
        "matchExpressions": [
            {"key": "b", "operator": "Exists"},
            {"key": "a", "operator": "DoesNotExist"},
            {"key": "c", "operator": "NotIn", "values": ["y", "x"]},
        ]
    }
    assert format_selector(selector) == "!a,b,c notin (x,y)"


# --- services, endpoints --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        (
            {
                "clusterIP": "10.96.0.10",
                "ports": [{"port": 80, "protocol": "TCP"}],
                "selector": {"app": "web"},
            },
            {},
            ["ClusterIP", "10.96.0.10", "<none>", "80/TCP", "app=web"],
        ),
        (
            {"type": "NodePort", "clusterIPs": ["10.96.0.11"], "ports": [{"port": 80, "nodePort": 30080}]},
            {},
            ["NodePort", "10.96.0.11", "<none>", "80:30080/TCP", "<none>"],
        ),
        (
            {"type": "LoadBalancer", "clusterIP": "10.96.0.12", "ports": [{"port": 53, "protocol": "UDP"}]},
            {},
            ["LoadBalancer", "10.96.0.12", "<pending>", "53/UDP", "<none>"],
        ),
        (
            {"type": "LoadBalancer", "clusterIP": "10.96.0.12", "ports": []},
            {"loadBalancer": {"ingress": [{"ip": "172.18.255.1"}]}},
            ["LoadBalancer", "10.96.0.12", "172.18.255.1", "<none>", "<none>"],
        ),
        (
            {"clusterIP": "None", "clusterIPs": ["None"]},
            {},
            ["ClusterIP", "None", "<none>", "<none>", "<none>"],
        ),
        (
            {"type": "ExternalName", "externalName": "example.org"},
            {},
            ["ExternalName", "<none>", "example.org", "<none>", "<none>"],
        ),
    ],
)
def test_service_rows(spec: dict[str, Any], status: dict[str, Any], expected: list[str]) -> None:
    svc = {"metadata": meta("svc", age=45), "spec": spec, "status": status}
    table = to_table("services", [svc], now=NOW)
    assert headers(table) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    assert headers(table, 1) == ["Selector"]
    row = table["rows"][0]["cells"]
    assert row[0] == "svc" and row[5] == "45s"
    assert row[1:5] + row[6:] == expected


def test_endpoints_rows() -> None:
    many = {
        "metadata": meta("web"),
        "subsets": [
            {
                "addresses": [{"ip": f"10.244.0.{i}"} for i in range(1, 6)],
                "ports": [{"port": 80}],
            }
        ],
    }
    assert cells("endpoints", many)[1] == "10.244.0.1:80,10.244.0.2:80,10.244.0.3:80 + 2 more..."
    few = {"metadata": meta("x"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 53}]}]}
    assert cells("endpoints", few)[1] == "10.0.0.1:53"
    headless = {"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "10.0.0.2"}]}]}
    assert cells("endpoints", headless)[1] == "10.0.0.2"
    assert cells("endpoints", {"metadata": meta("none")})[1] == "<none>"
    assert headers(to_table("endpoints", [], now=NOW)) == ["Name", "Endpoints", "Age"]


# --- nodes, namespaces, events, the rest ----------------------------------------------------------------------


def make_node(
    ready: str | None = "True", unschedulable: bool = False, labels: dict[str, str] | None = None
) -> dict:
    node: dict[str, Any] = {
        "metadata": {**meta("node-1", age=7200), "labels": labels or {}},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}] if ready else [],
            "addresses": [
                {"type": "Hostname", "address": "node-1"},
                {"type": "InternalIP", "address": "172.18.0.2"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "osImage": "Debian GNU/Linux 12",
                "kernelVersion": "6.1.0",
                "containerRuntimeVersion": "docker://27.0.1",
            },
        },
    }
    return node


@pytest.mark.parametrize(
    ("node", "status", "roles"),
    [
        (make_node(), "Ready", "<none>"),
        (make_node("False"), "NotReady", "<none>"),
        (make_node(None), "Unknown", "<none>"),
        (make_node("True", unschedulable=True), "Ready,SchedulingDisabled", "<none>"),
        (
            make_node(
                labels={"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": ""}
            ),
            "Ready",
            "control-plane,etcd",
        ),
        (make_node(labels={"kubernetes.io/role": "worker"}), "Ready", "worker"),
    ],
)
def test_node_rows(node: dict[str, Any], status: str, roles: str) -> None:
    table = to_table("nodes", [node], now=NOW)
    assert headers(table, 0) == ["Name", "Status", "Roles", "Age", "Version"]
    assert headers(table, 1) == [
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
    ]
    assert table["rows"][0]["cells"] == [
        "node-1",
        status,
        roles,
        "120m",
        "v1.32.0",
        "172.18.0.2",
        "<none>",
        "Debian GNU/Linux 12",
        "6.1.0",
        "docker://27.0.1",
    ]


def test_namespace_rows() -> None:
    ns = {"metadata": meta("kube-system", age=10), "status": {"phase": "Active"}}
    table = to_table("namespaces", [ns], now=NOW)
    assert headers(table) == ["Name", "Status", "Age"]
    assert table["rows"][0]["cells"] == ["kube-system", "Active", "10s"]


def test_event_rows() -> None:
    event = {
        "metadata": meta("web.1234", age=600),
        "involvedObject": {
            "kind": "Pod",
            "name": "web",
            "namespace": "default",
            "fieldPath": "spec.containers{c}",
        },
        "reason": "Pulled",
        "message": "Container image already present on machine\n",
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(30),
        "count": 4,
    }
    table = to_table("events", [event], now=NOW)
    assert headers(table, 0) == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert headers(table, 1) == ["Subobject", "Source", "First Seen", "Count", "Name"]
    assert table["rows"][0]["cells"] == [
        "30s",
        "Normal",
        "Pulled",
        "pod/web",
        "spec.containers{c}",
        "kubelet, node-1",
        "Container image already present on machine",
        "10m",
        4,
        "web.1234",
    ]
    single = {"metadata": meta("e"), "involvedObject": {"kind": "Node"}, "eventTime": ago(5)}
    row = cells("events", single)
    assert row[0] == "5s" and row[3] == "node" and row[8] == 1


def test_lease_configmap_secret_rows() -> None:
    lease = {"metadata": meta("node-1", age=20), "spec": {"holderIdentity": "node-1"}}
    assert headers(to_table("leases", [lease], now=NOW)) == ["Name", "Holder", "Age"]
    assert cells("leases", lease) == ["node-1", "node-1", "20s"]
    cm = {"metadata": meta("cfg", age=20), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert headers(to_table("configmaps", [cm], now=NOW)) == ["Name", "Data", "Age"]
    assert cells("configmaps", cm) == ["cfg", 3, "20s"]
    secret = {"metadata": meta("s", age=20), "type": "Opaque", "data": {"a": "MQ=="}}
    assert cells("secrets", secret) == ["s", "Opaque", 1, "20s"]


def test_unknown_resources_get_name_and_created_at() -> None:
    obj = {"metadata": meta("thing", age=60)}
    table = to_table("widgets", [obj], now=NOW)
    assert headers(table) == ["Name", "Created At"]
    assert table["columnDefinitions"][1]["type"] == "date"
    assert table["rows"][0]["cells"] == ["thing", "2026-11-27T11:59:00Z"]


def test_missing_creation_timestamp_is_unknown() -> None:
    assert cells("namespaces", {"metadata": {"name": "x"}}) == ["x", "", "<unknown>"]


def test_daemonset_and_job_rows() -> None:
    ds = make_deployment()
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    ds["status"] = {
        "desiredNumberScheduled": 3,
        "currentNumberScheduled": 3,
        "numberReady": 2,
        "updatedNumberScheduled": 3,
        "numberAvailable": 2,
    }
    table = to_table("daemonsets", [ds], now=NOW)
    assert headers(table, 0) == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
    ]
    assert table["rows"][0]["cells"][:8] == ["web", 3, 3, 2, 3, 2, "disk=ssd", "3d1h"]

    job = {
        "metadata": meta("backup", age=600),
        "spec": {"completions": 3, "template": {"spec": {"containers": [{"name": "b", "image": "busybox"}]}}},
        "status": {"succeeded": 1, "startTime": ago(300)},
    }
    table = to_table("jobs", [job], now=NOW)
    assert headers(table, 0) == ["Name", "Status", "Completions", "Duration", "Age"]
    assert table["rows"][0]["cells"][:5] == ["backup", "Running", "1/3", "5m", "10m"]
    job["status"].update(
        succeeded=3, completionTime=ago(240), conditions=[{"type": "Complete", "status": "True"}]
    )
    assert cells("jobs", job)[:4] == ["backup", "Complete", "3/3", "60s"]
