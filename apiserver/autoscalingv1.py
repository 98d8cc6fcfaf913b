"""autoscaling/v1 HorizontalPodAutoscalers: a view of the autoscaling/v2 ones, over the same storage and cache.

As in kube-apiserver, an HPA is stored once (autoscaling/v2 is the storage version) and served in both versions.
The mapping is upstream's (pkg/apis/autoscaling/v1/conversion.go): v1 knows one metric, the cpu utilization
target, as `spec.targetCPUUtilizationPercentage` and `status.currentCPUUtilizationPercentage`; whatever else a v2
object holds travels in annotations so that a v1 client's read-modify-write loses nothing:

    autoscaling.alpha.kubernetes.io/metrics           the other metrics of spec.metrics
    autoscaling.alpha.kubernetes.io/behavior          spec.behavior
    autoscaling.alpha.kubernetes.io/current-metrics   status.currentMetrics
    autoscaling.alpha.kubernetes.io/conditions        status.conditions

Upstream writes the metric annotations in the autoscaling/v2beta1-like shape of the v1 package's own MetricSpec;
here they hold the v2 shape (no client reads them but this module).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apimachinery.resources import ResourceInfo
from apiserver.views import ConvertingStore

Obj = dict[str, Any]

GROUP = "autoscaling"
RESOURCE = "horizontalpodautoscalers"
V1 = "autoscaling/v1"
V2 = "autoscaling/v2"
METRICS = "autoscaling.alpha.kubernetes.io/metrics"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
_ANNOTATIONS = (METRICS, BEHAVIOR, CURRENT_METRICS, CONDITIONS)


def is_view(info: ResourceInfo) -> bool:
    return info.group == GROUP and info.resource == RESOURCE and info.version == "v1"


def _is_cpu_utilization(metric: Any) -> bool:
    if not isinstance(metric, dict) or metric.get("type") != "Resource":
        return False
    source = metric.get("resource") or {}
    target = source.get("target") or {}
    return source.get("name") == "cpu" and target.get("type") == "Utilization"


def _load(annotations: Obj, key: str) -> Any:
    raw = annotations.pop(key, None)
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return (
            None  # an annotation a client mangled: the v2 field stays unset rather than failing the request
        )


def to_v1(hpa: Obj) -> Obj:
    """A stored autoscaling/v2 HPA as autoscaling/v1 shows it."""
    if "metadata" not in hpa or "kind" not in hpa:
        return hpa  # a bookmark
    out = copy.deepcopy(hpa)
    out["apiVersion"] = V1
    annotations: Obj = dict(out["metadata"].get("annotations") or {})
    spec = out.get("spec") or {}
    metrics = spec.pop("metrics", None) or []
    others = [m for m in metrics if not _is_cpu_utilization(m)]
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"].get("averageUtilization")
    if others:
        annotations[METRICS] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior is not None:
        annotations[BEHAVIOR] = json.dumps(behavior, separators=(",", ":"))
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentMetrics", None) or []
        for metric in current:
            resource = metric.get("resource") or {} if isinstance(metric, dict) else {}
            value = (resource.get("current") or {}).get("averageUtilization")
            if resource.get("name") == "cpu" and value is not None:
                status["currentCPUUtilizationPercentage"] = value
        if current:
            annotations[CURRENT_METRICS] = json.dumps(current, separators=(",", ":"))
        conditions = status.pop("conditions", None)
        if conditions:
            annotations[CONDITIONS] = json.dumps(conditions, separators=(",", ":"))
        status.setdefault("currentReplicas", 0)
        status.setdefault("desiredReplicas", 0)
    if annotations:
        out["metadata"]["annotations"] = annotations
    return out


def to_v2(hpa: Obj) -> Obj:
    """An autoscaling/v1 HPA as the autoscaling/v2 object it is stored as."""
    out = copy.deepcopy(hpa)
    out["apiVersion"] = V2
    md = out.get("metadata")
    annotations: Obj = dict(md.get("annotations") or {}) if isinstance(md, dict) else {}
    spec = out.get("spec")
    if isinstance(spec, dict):
        target = spec.pop("targetCPUUtilizationPercentage", None)
        metrics: list[Any] = []
        if target is not None:
            metrics.append(
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": target},
                    },
                }
            )
        others = _load(annotations, METRICS)
        metrics += [m for m in others if not _is_cpu_utilization(m)] if isinstance(others, list) else []
        if metrics:
            spec["metrics"] = metrics
        behavior = _load(annotations, BEHAVIOR)
        if isinstance(behavior, dict):
            spec["behavior"] = behavior
    status = out.get("status")
    current = _load(annotations, CURRENT_METRICS)
    conditions = _load(annotations, CONDITIONS)
    if isinstance(status, dict):
        status.pop("currentCPUUtilizationPercentage", None)
        if isinstance(current, list) and current:
            status["currentMetrics"] = current
        if isinstance(conditions, list) and conditions:
            status["conditions"] = conditions
    for key in _ANNOTATIONS:
        annotations.pop(key, None)
    if isinstance(md, dict):
        if annotations:
            md["annotations"] = annotations
        else:
            md.pop("annotations", None)
    return out


class HPAV1Store(ConvertingStore):
    """The autoscaling/v1 view: converts on the way in and out, shares the v2 store's cache and storage."""

    def to_view(self, obj: Obj) -> Obj:
        return to_v1(obj)

    def to_stored(self, obj: Obj) -> Obj:
        return to_v2(obj)
