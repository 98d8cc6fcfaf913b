"""The real kubectl on autoscaling: `kubectl autoscale` creates an HPA, `kubectl get hpa` prints kubectl's columns
with TARGETS, autoscaling/v1 and v2 are two views of one stored object, bad specs are 422, and `kubectl scale`
works through the scale subresource of every kind that has one."""

from __future__ import annotations

import json

from cli.describe_autoscaling import hpa_text
from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl, table

pytestmark = MARKS

V1 = "/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"


def test_kubectl_autoscale_and_get_hpa(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web", replicas=1))
    assert "autoscaling/v2" in kubectl("api-versions").split()
    out = kubectl("autoscale", "deployment", "web", "--min", "1", "--max", "3", "--cpu-percent", "50")
    assert "horizontalpodautoscaler.autoscaling/web autoscaled" in out
    # kubectl 1.32 writes autoscaling/v1 (targetCPUUtilizationPercentage); it is stored as v2.
    dry = json.loads(
        kubectl(
            "autoscale", "deployment", "web", "--name", "x", "--max", "2", "--dry-run=client", "-o", "json"
        )
    )
    assert dry["apiVersion"] == "autoscaling/v1" and dry["spec"]["maxReplicas"] == 2
    rows = table(kubectl("get", "hpa"))
    assert [
        (r["NAME"], r["REFERENCE"], r["TARGETS"], r["MINPODS"], r["MAXPODS"], r["REPLICAS"]) for r in rows
    ] == [("web", "Deployment/web", "cpu: <unknown>/50%", "1", "3", "0")]
    stored = api.get(V2.format(ns=ns) + "/web")
    assert stored["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert stored["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
        }
    ]
    # A measured value shows as kubectl shows it.
    api.merge_patch(
        V2.format(ns=ns) + "/web/status",
        {
            "status": {
                "currentReplicas": 2,
                "desiredReplicas": 2,
                "currentMetrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "current": {"averageUtilization": 12, "averageValue": "60m"},
                        },
                    }
                ],
            }
        },
    )
    rows = table(kubectl("get", "hpa"))
    assert (rows[0]["TARGETS"], rows[0]["REPLICAS"]) == ("cpu: 12%/50%", "2")
    # The v1 view: the same columns, and the object as v1 has it.
    rows = table(kubectl("get", "horizontalpodautoscalers.v1.autoscaling"))
    assert (rows[0]["TARGETS"], rows[0]["REPLICAS"]) == ("cpu: 12%/50%", "2")
    as_v1 = json.loads(kubectl("get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "json"))
    assert as_v1["apiVersion"] == "autoscaling/v1"
    assert (
        as_v1["spec"]["targetCPUUtilizationPercentage"],
        as_v1["status"]["currentCPUUtilizationPercentage"],
    ) == (
        50,
        12,
    )
    # kctl's describe page is kubectl's, line for line (behavior and conditions included).
    api.merge_patch(
        V2.format(ns=ns) + "/web", {"spec": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}
    )
    api.merge_patch(
        V2.format(ns=ns) + "/web/status",
        {
            "status": {
                "conditions": [
                    {
                        "type": "AbleToScale",
                        "status": "True",
                        "reason": "ReadyForNewScale",
                        "message": "recommended size matches current size",
                        "lastTransitionTime": "2026-12-05T19:00:00Z",
                    }
                ]
            }
        },
    )
    assert kubectl("describe", "hpa", "web") == hpa_text(api.get(V2.format(ns=ns) + "/web"), [])


def test_v1_and_v2_are_views_of_one_object(api: Api, ns: str) -> None:
    hpa_v1 = factories.hpa("front", 5, api_version="autoscaling/v1", targetCPUUtilizationPercentage=70)
    created = api.create(V1.format(ns=ns), hpa_v1)
    assert created["apiVersion"] == "autoscaling/v1" and created["spec"]["minReplicas"] == 1
    assert created["spec"]["targetCPUUtilizationPercentage"] == 70
    as_v2 = api.get(V2.format(ns=ns) + "/front")
    assert as_v2["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 70,
    }
    assert "annotations" not in as_v2["metadata"]
    # A v2 memory metric and behavior survive a v1 read-modify-write (in annotations, as upstream).
    api.merge_patch(
        V2.format(ns=ns) + "/front",
        {
            "spec": {
                "metrics": [
                    as_v2["spec"]["metrics"][0],
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "memory",
                            "target": {"type": "AverageValue", "averageValue": "100Mi"},
                        },
                    },
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}},
            }
        },
    )
    got_v1 = api.get(V1.format(ns=ns) + "/front")
    assert got_v1["spec"]["targetCPUUtilizationPercentage"] == 70
    assert "autoscaling.alpha.kubernetes.io/metrics" in got_v1["metadata"]["annotations"]
    got_v1["spec"]["maxReplicas"] = 6
    r = api.http.put(V1.format(ns=ns) + "/front", json=got_v1)
    assert r.status_code == 200, r.text
    after = api.get(V2.format(ns=ns) + "/front")
    assert after["spec"]["maxReplicas"] == 6
    assert [m["resource"]["name"] for m in after["spec"]["metrics"]] == ["cpu", "memory"]
    assert after["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30
    assert after["spec"]["behavior"]["scaleDown"]["policies"] == [
        {"type": "Percent", "value": 100, "periodSeconds": 15}
    ]
    assert after["spec"]["behavior"]["scaleUp"]["selectPolicy"] == "Max"
    assert "annotations" not in after["metadata"]


def test_invalid_hpa_is_422(api: Api, ns: str) -> None:
    bad = factories.hpa(
        "bad",
        2,
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
        minReplicas=4,
        metrics=[
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}},
            {"type": "Bogus"},
        ],
        behavior={"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 4000}]}},
    )
    r = api.http.post(V2.format(ns=ns), json=bad)
    assert r.status_code == 422, r.text
    fields = {c["field"] for c in r.json()["details"]["causes"]}
    assert {
        "spec.maxReplicas",
        "spec.metrics[0].resource.target.averageUtilization",
        "spec.metrics[1].type",
        "spec.behavior.scaleUp.policies[0].value",
        "spec.behavior.scaleUp.policies[0].periodSeconds",
    } <= fields


def test_scale_subresource_of_each_kind(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("d", replicas=1))
    rs = factories.deployment("r", replicas=1)
    rs["kind"] = "ReplicaSet"
    api.create(f"/apis/apps/v1/namespaces/{ns}/replicasets", rs)
    sts = factories.deployment("s", replicas=1)
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "s"
    api.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", sts)
    rc = factories.deployment("c", replicas=1)
    rc["apiVersion"], rc["kind"] = "v1", "ReplicationController"
    rc["spec"]["selector"] = {"app": "c"}
    api.create(f"/api/v1/namespaces/{ns}/replicationcontrollers", rc)
    for kind, path in (
        ("deployment", f"/apis/apps/v1/namespaces/{ns}/deployments/d"),
        ("replicaset", f"/apis/apps/v1/namespaces/{ns}/replicasets/r"),
        ("statefulset", f"/apis/apps/v1/namespaces/{ns}/statefulsets/s"),
        ("replicationcontroller", f"/api/v1/namespaces/{ns}/replicationcontrollers/c"),
    ):
        name = path.rsplit("/", 1)[1]
        assert "scaled" in kubectl("scale", kind, name, "--replicas", "3")
        scale = api.get(path + "/scale")
        assert (scale["kind"], scale["apiVersion"], scale["spec"]["replicas"]) == (
            "Scale",
            "autoscaling/v1",
            3,
        )
        assert scale["status"]["selector"] == f"app={name}"
        assert api.get(path)["spec"]["replicas"] == 3
        r = api.http.put(path + "/scale", json={**scale, "spec": {"replicas": -1}})
        assert r.status_code == 422, r.text
    assert json.loads(kubectl("get", "deploy", "d", "-o", "json"))["spec"]["replicas"] == 3


def test_apply_through_either_version(kubectl: Kubectl, api: Api, ns: str) -> None:
    manifest = """
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: applied}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: %d
  targetCPUUtilizationPercentage: 40
"""
    assert "created" in kubectl("apply", "-f", "-", stdin=manifest % 3)
    assert "configured" in kubectl("apply", "-f", "-", stdin=manifest % 4)
    assert "serverside-applied" in kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifest % 5
    )
    stored = api.get(V2.format(ns=ns) + "/applied")
    assert stored["spec"]["maxReplicas"] == 5
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 40
