"""Validation and defaults of autoscaling/v2 HorizontalPodAutoscalers (Kubernetes'
`pkg/apis/autoscaling/validation` and `autoscaling/v2/defaults.go`, with the messages kubectl shows).

The apiserver stores HPAs as autoscaling/v2; an autoscaling/v1 object is converted before it gets here
(apiserver/autoscalingv1.py), so these rules see the v2 shape only. The behavior defaults are public: the
controller fills the same ones into an HPA without a behavior of its own.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery.validation.common import (
    Errs,
    Obj,
    _dict,
    _map,
    invalid,
    not_supported,
    required,
    required_enum,
)
from apimachinery.validation.quantity import parse_quantity
from apimachinery.validation.syntax import is_dns1123_label, is_dns1123_subdomain

DEFAULT_CPU_UTILIZATION = 80
MAX_STABILIZATION_WINDOW = 3600  # MaxStabilizationWindowSeconds
MAX_PERIOD_SECONDS = 1800  # MaxPeriodSeconds
METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]
TARGET_TYPES = ["AverageValue", "Utilization", "Value"]
POLICY_TYPES = ["Percent", "Pods"]
SELECT_POLICIES = ["Disabled", "Max", "Min"]


def default_scale_up() -> Obj:
    """The scale-up rules an HPA gets when it says nothing (GenerateHPAScaleUpRules): at once, by the larger of
    4 pods or 100% per 15 seconds."""
    return {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }


def default_scale_down() -> Obj:
    """The scale-down rules (GenerateHPAScaleDownRules): the highest recommendation of the last 5 minutes, then
    down to it at once (100% per 15 seconds)."""
    return {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }


def filled_rules(rules: Any, defaults: Obj) -> Obj:
    """`rules` with every unset field taken from `defaults` (policies as a whole, as upstream)."""
    out = copy.deepcopy(rules) if isinstance(rules, dict) else {}
    for key, value in defaults.items():
        if out.get(key) is None:
            out[key] = copy.deepcopy(value)
    return out


def default_hpa(hpa: Obj) -> None:
    """minReplicas 1, a cpu target of 80% when no metric is named, and the unset rules of a given behavior."""
    spec = hpa.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [cpu_utilization_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = filled_rules(behavior.get("scaleUp"), default_scale_up())
        behavior["scaleDown"] = filled_rules(behavior.get("scaleDown"), default_scale_down())


def cpu_utilization_metric(percent: int) -> Obj:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}},
    }


# --- validation -----------------------------------------------------------------------------------------------


def _positive_int(value: Any, path: str, errs: Errs, *, low: int = 1, high: int | None = None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errs.append(invalid(path, value, "must be an integer"))
        return None
    if value < low:
        detail = "must be greater than 0" if low == 1 else f"must be greater than or equal to {low}"
        errs.append(invalid(path, value, detail))
        return None
    if high is not None and value > high:
        errs.append(invalid(path, value, f"must be less than or equal to {high}"))
        return None
    return value


def validate_hpa(hpa: Obj, errs: Errs) -> None:
    spec = _map(hpa, "spec", "spec", errs)
    low = spec.get("minReplicas")
    minimum = _positive_int(low, "spec.minReplicas", errs) if low is not None else 1
    if spec.get("maxReplicas") is None:
        errs.append(required("spec.maxReplicas", ""))
        maximum = None
    else:
        maximum = _positive_int(spec["maxReplicas"], "spec.maxReplicas", errs)
    if minimum is not None and maximum is not None and maximum < minimum:
        errs.append(invalid("spec.maxReplicas", maximum, "must be greater than or equal to `minReplicas`"))
    _validate_target_ref(spec.get("scaleTargetRef"), "spec.scaleTargetRef", errs)
    metrics = spec.get("metrics")
    if metrics is not None and not isinstance(metrics, list):
        errs.append(invalid("spec.metrics", metrics, "must be a list"))
    for i, metric in enumerate(metrics if isinstance(metrics, list) else []):
        _validate_metric(metric, f"spec.metrics[{i}]", errs)
    behavior = _map(spec, "behavior", "spec.behavior", errs)
    for direction in ("scaleUp", "scaleDown"):
        if behavior.get(direction) is not None:
            _validate_rules(behavior[direction], f"spec.behavior.{direction}", errs)


def _validate_target_ref(ref: Any, path: str, errs: Errs) -> None:
    if not isinstance(ref, dict):
        errs.append(required(path, "") if ref is None else invalid(path, ref, "must be an object"))
        return
    for key in ("kind", "name"):
        value = ref.get(key)
        if not value:
            errs.append(required(f"{path}.{key}", ""))
        elif not isinstance(value, str) or "/" in value or "%" in value or value in (".", ".."):
            errs.append(invalid(f"{path}.{key}", value, "may not contain '/', '%' or be '.' or '..'"))
    name = ref.get("name")
    if isinstance(name, str) and name and "/" not in name:
        errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_subdomain(name))
    api_version = ref.get("apiVersion")
    if api_version is not None and not group_version_ok(api_version):
        errs.append(invalid(f"{path}.apiVersion", api_version, "must be a version or a group/version"))


def group_version_ok(value: Any) -> bool:
    """`v1` or `group/version`, the group a DNS subdomain and the version a DNS label: what may go into a URL
    path (the controller checks it again before it builds one)."""
    if not isinstance(value, str) or not value:
        return False
    group, slash, version = value.rpartition("/")
    if is_dns1123_label(version) or (slash and not group):
        return False
    return not group or not is_dns1123_subdomain(group)


def _validate_metric(metric: Any, path: str, errs: Errs) -> None:
    if not isinstance(metric, dict):
        errs.append(invalid(path, metric, "must be an object"))
        return
    kind = required_enum(metric, "type", f"{path}.type", METRIC_TYPES, errs)
    if kind is None:
        return
    source_key = {"ContainerResource": "containerResource"}.get(kind, kind[0].lower() + kind[1:])
    source = metric.get(source_key)
    if not isinstance(source, dict):
        errs.append(required(f"{path}.{source_key}", "must populate information for the given metric source"))
        return
    for other in ("resource", "containerResource", "pods", "object", "external"):
        if other != source_key and metric.get(other) is not None:
            errs.append(invalid(f"{path}.{other}", "", "must populate the given metric source only"))
    spath = f"{path}.{source_key}"
    if kind in ("Resource", "ContainerResource"):
        if not source.get("name"):
            errs.append(required(f"{spath}.name", "must specify a resource name"))
        if kind == "ContainerResource" and not source.get("container"):
            errs.append(required(f"{spath}.container", "must specify a container"))
    elif not _dict(source.get("metric")).get("name"):
        errs.append(required(f"{spath}.metric.name", "must specify a metric name"))
    _validate_target(source.get("target"), f"{spath}.target", kind, errs)


def _validate_target(target: Any, path: str, kind: str, errs: Errs) -> None:
    if not isinstance(target, dict):
        errs.append(required(path, "must specify a metric target"))
        return
    ttype = required_enum(
        target, "type", f"{path}.type", TARGET_TYPES, errs, "must specify a metric target type"
    )
    if ttype is None:
        return
    if kind in ("Resource", "ContainerResource", "Pods") and ttype == "Value":
        errs.append(invalid(f"{path}.type", ttype, f"must be AverageValue or Utilization for {kind} metrics"))
    if kind not in ("Resource", "ContainerResource") and ttype == "Utilization":
        errs.append(invalid(f"{path}.type", ttype, "Utilization is only supported for resource metrics"))
    if ttype == "Utilization":
        if target.get("averageUtilization") is None:
            errs.append(required(f"{path}.averageUtilization", "must set averageUtilization"))
        else:
            _positive_int(target["averageUtilization"], f"{path}.averageUtilization", errs)
    else:
        field = "averageValue" if ttype == "AverageValue" else "value"
        value = target.get(field)
        if value is None:
            errs.append(required(f"{path}.{field}", f"must set {field}"))
            return
        try:
            amount = parse_quantity(value)
        except ValueError:
            errs.append(invalid(f"{path}.{field}", value, "must be a quantity"))
            return
        if amount <= 0:
            errs.append(invalid(f"{path}.{field}", value, "must be positive"))


def _validate_rules(rules: Any, path: str, errs: Errs) -> None:
    if not isinstance(rules, dict):
        errs.append(invalid(path, rules, "must be an object"))
        return
    window = rules.get("stabilizationWindowSeconds")
    if window is not None:
        _positive_int(
            window, f"{path}.stabilizationWindowSeconds", errs, low=0, high=MAX_STABILIZATION_WINDOW
        )
    select = rules.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        errs.append(not_supported(f"{path}.selectPolicy", select, SELECT_POLICIES))
    policies = rules.get("policies")
    if not isinstance(policies, list) or not policies:
        errs.append(required(f"{path}.policies", "must specify at least one Policy"))
        return
    for i, policy in enumerate(policies):
        ppath = f"{path}.policies[{i}]"
        if not isinstance(policy, dict):
            errs.append(invalid(ppath, policy, "must be an object"))
            continue
        if policy.get("type") not in POLICY_TYPES:
            errs.append(not_supported(f"{ppath}.type", policy.get("type"), POLICY_TYPES))
        _positive_int(policy.get("value"), f"{ppath}.value", errs)
        _positive_int(policy.get("periodSeconds"), f"{ppath}.periodSeconds", errs, high=MAX_PERIOD_SECONDS)


KINDS: dict[tuple[str, str], tuple[Any, Any, Any]] = {
    ("autoscaling", "HorizontalPodAutoscaler"): (is_dns1123_subdomain, validate_hpa, None),
}
DEFAULTERS = {("autoscaling", "HorizontalPodAutoscaler"): default_hpa}
