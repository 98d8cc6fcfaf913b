"""The dashboard's pure decisions: a pod's status word, which pods a workload owns, node rows, and that the
templates print API text as text (rendered without a server)."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dashboard import views
from dashboard.app import HERE
from tests.factories import Obj


def pod(name: str = "p", owner: str | None = None, **status: Any) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True}]
    return {"metadata": meta, "spec": {"containers": [{"name": "c"}]}, "status": status}


def waiting(reason: str) -> Obj:
    return {"name": "c", "ready": False, "restartCount": 4, "state": {"waiting": {"reason": reason}}}


@pytest.mark.parametrize(
    ("status", "word", "severity"),
    [
        ({"phase": "Running", "containerStatuses": [{"ready": True, "state": {"running": {}}}]}, "Running", "ok"),
        ({"phase": "Running", "containerStatuses": [waiting("CrashLoopBackOff")]}, "CrashLoopBackOff", "bad"),
        ({"phase": "Pending"}, "Pending", "warn"),
        ({"phase": "Pending", "containerStatuses": [waiting("ContainerCreating")]}, "ContainerCreating", "warn"),
        ({"phase": "Failed", "reason": "Evicted"}, "Evicted", "bad"),
        ({"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]},
         "Completed", "ok"),
        ({"phase": "Running", "initContainerStatuses": [{"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]},
         "Init:Error", "bad"),
        ({"phase": 7, "containerStatuses": "not a list"}, "7", "warn"),  # malformed: never raises
    ],
)  # fmt: skip
def test_pod_status_reads_as_kubectl_prints_it(status: Obj, word: str, severity: str) -> None:
    assert views.pod_status(pod(**status)) == word
    assert views.severity(word) == severity


def test_a_deleted_pod_is_terminating() -> None:
    p = pod(phase="Running")
    p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert views.pod_status(p) == "Terminating"


def test_a_deployment_owns_the_pods_of_its_replicasets_and_hides_them() -> None:
    dep = {
        "metadata": {"name": "web", "namespace": "ns", "uid": "d1"},
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 1},
    }
    rs = {
        "metadata": {
            "name": "web-abc",
            "namespace": "ns",
            "uid": "r1",
            "ownerReferences": [{"uid": "d1", "controller": True}],
        }
    }
    lone_rs = {"metadata": {"name": "solo", "namespace": "ns", "uid": "r2"}, "spec": {"replicas": 1}}
    pods = [
        pod("web-abc-1", "r1", phase="Running"),
        pod("web-abc-2", "r1", containerStatuses=[waiting("CrashLoopBackOff")]),
        pod("solo-1", "r2", phase="Pending"),
        pod("bare"),
    ]
    found = views.workloads({"Deployment": ("deployments", "apps/v1", [dep]),
                             "ReplicaSet": ("replicasets", "apps/v1", [rs, lone_rs])}, pods)  # fmt: skip
    assert [(w.kind, w.name, [p.name for p in w.pods]) for w in found] == [
        ("Deployment", "web", ["web-abc-1", "web-abc-2"]),
        ("ReplicaSet", "solo", ["solo-1"]),
    ]
    assert found[0].ready == "1/2" and found[0].health == "bad" and found[0].replicas == 2
    assert found[1].health == "warn"  # 0/1 ready, nothing failed: on its way
    assert [p.name for p in views.standalone_pods(pods)] == ["bare"]


def test_node_rows_show_usage_only_with_metrics() -> None:
    node = {"metadata": {"name": "n1"},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi"},
                       "conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "True"}]}}  # fmt: skip
    plain = views.node_row(node)
    assert (plain.ready, plain.problems, plain.cpu, plain.memory, plain.cpu_percent) == (
        "True",
        ["DiskPressure"],
        "2",
        "4.0Gi",
        None,
    )
    used = views.node_row(node, {"cpu": "500m", "memory": "1Gi"})
    assert (used.cpu_used, used.cpu_percent, used.memory_percent) == ("500m", 25, 25)


def test_service_rows_pair_services_with_their_endpoints() -> None:
    svc = {
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 80, "targetPort": 8080}]},
    }
    ep = {"metadata": {"name": "web", "namespace": "ns"},
          "subsets": [{"addresses": [{"ip": "10.244.1.5", "targetRef": {"name": "web-1"}}],
                       "notReadyAddresses": [{"ip": "10.244.1.6"}], "ports": [{"port": 8080}]}]}  # fmt: skip
    (row,) = views.service_rows([svc], [ep])
    assert (
        row.ports == "80/TCP -> 8080"
        and row.ready == ["10.244.1.5:8080 (web-1)"]
        and row.not_ready == ["10.244.1.6:8080"]
    )


def test_templates_print_api_text_as_text() -> None:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    hostile = '<script>alert(1)</script>" onmouseover="x'
    p = pod("p", phase="Running")
    p["spec"]["containers"][0]["image"] = hostile
    p["status"]["message"] = hostile
    html = env.get_template("pod_body.html").render(
        row=views.pod_row(p), containers=views.container_rows(p), conditions=[{"type": hostile, "status": "True"}],
        events=views.event_rows([{"message": hostile, "reason": hostile, "type": "Warning"}]), can_delete=False,
    )  # fmt: skip
    assert "<script>" not in html and '" onmouseover' not in html
    assert (
        html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 4
    )  # image, condition, event reason and message
