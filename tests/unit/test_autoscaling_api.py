"""autoscaling: v1 <-> v2 conversion (apiserver.autoscalingv1), defaults and validation
(apimachinery.validation.autoscaling), and kubectl's TARGETS column (apiserver.printers.autoscaling)."""

from __future__ import annotations

import copy

from apimachinery.defaults import apply_defaults
from apimachinery.validation import validate
from apiserver.autoscalingv1 import METRICS, to_v1, to_v2
from apiserver.printers.autoscaling import format_metrics
from tests import factories

CPU50 = factories.cpu_utilization(50)
MEM = {
    "type": "Resource",
    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}},
}


def hpa(**spec: object) -> dict:
    return factories.hpa("web", 3, namespace="default", **spec)


def test_v2_round_trips_through_v1() -> None:
    original = hpa(metrics=[CPU50, MEM], behavior={"scaleDown": {"stabilizationWindowSeconds": 30}})
    original["status"] = {
        "currentReplicas": 2,
        "desiredReplicas": 2,
        "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}
        ],
        "conditions": [{"type": "AbleToScale", "status": "True"}],
    }
    v1 = to_v1(original)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50 and "metrics" not in v1["spec"]
    assert v1["status"]["currentCPUUtilizationPercentage"] == 12 and "conditions" not in v1["status"]
    assert METRICS in v1["metadata"]["annotations"]
    assert to_v2(v1) == original


def test_v1_without_a_target_gets_v2_defaults() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 2}}  # fmt: skip
    v2 = apply_defaults(to_v2(v1))
    assert v2["spec"]["minReplicas"] == 1
    assert v2["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
    assert "behavior" not in v2["spec"]  # filled in only when given


def test_a_mangled_annotation_is_ignored() -> None:
    v1 = to_v1(hpa(metrics=[CPU50]))
    v1["metadata"]["annotations"] = {METRICS: "{not json"}
    assert to_v2(v1)["spec"]["metrics"] == [CPU50]


def causes(obj: dict) -> set[str]:
    return {c["field"] for c in validate(apply_defaults(copy.deepcopy(obj)))}


def test_validation() -> None:
    assert causes(hpa(metrics=[CPU50, MEM])) == set()
    assert causes(hpa(minReplicas=4)) == {"spec.maxReplicas"}
    assert causes(hpa(minReplicas=0)) == {"spec.minReplicas"}
    bad_ref = hpa()
    bad_ref["spec"]["scaleTargetRef"] = {"apiVersion": "../../api/v1", "kind": "a/b", "name": ""}
    assert causes(bad_ref) == {
        "spec.scaleTargetRef.apiVersion",
        "spec.scaleTargetRef.kind",
        "spec.scaleTargetRef.name",
    }
    value_on_pods = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Value", "value": "1"}},
    }
    assert causes(hpa(metrics=[value_on_pods])) == {"spec.metrics[0].resource.target.type"}
    negative = {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "-1"}},
    }
    assert causes(hpa(metrics=[negative])) == {"spec.metrics[0].resource.target.averageValue"}
    assert causes(
        hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 4000, "selectPolicy": "Most"}})
    ) == {
        "spec.behavior.scaleDown.stabilizationWindowSeconds",
        "spec.behavior.scaleDown.selectPolicy",
    }
    assert causes(hpa(behavior={"scaleUp": {"policies": []}})) == {"spec.behavior.scaleUp.policies"}


def test_targets_column() -> None:
    current = [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "current": {"averageUtilization": 12, "averageValue": "6m"}},
        },
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "10Mi"}}},
    ]
    assert format_metrics([CPU50], []) == "cpu: <unknown>/50%"
    assert format_metrics([CPU50, MEM], current) == "cpu: 12%/50%, memory: 10Mi/100Mi"
    assert format_metrics([CPU50, MEM, CPU50], current) == "cpu: 12%/50%, memory: 10Mi/100Mi + 1 more..."
    assert format_metrics([], []) == "<none>"
    assert (
        format_metrics([CPU50], [{"type": ""}]) == "cpu: <unknown>/50%"
    )  # a metric the controller could not read
