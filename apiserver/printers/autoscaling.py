"""HorizontalPodAutoscalers: kubectl's columns, with TARGETS as `cpu: 12%/50%` (printers.go formatHPAMetrics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiserver import autoscalingv1
from apiserver.printers.common import Obj, Row, age, columns, name_of

HPA_COLUMNS = columns(
    """
    Name
    Reference: The reference to the scale target.
    Targets: The metrics and targets, current/target.
    MinPods: The lower limit for the number of pods that can be set by the autoscaler, default 1.
    MaxPods [integer]: The upper limit for the number of pods that can be set by the autoscaler.
    Replicas [integer]: Current number of replicas of pods managed by this autoscaler.
    Age
"""
)
SHOWN_METRICS = 2  # more are summed up as "+ N more..."


def hpa_row(obj: Obj, now: datetime) -> Row:
    if obj.get("apiVersion") == autoscalingv1.V1:
        obj = autoscalingv1.to_v2(obj)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    minimum = spec.get("minReplicas")
    cells = [
        name_of(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        format_metrics(spec.get("metrics") or [], status.get("currentMetrics") or []),
        str(minimum) if minimum is not None else "<unset>",
        int(spec.get("maxReplicas") or 0),
        int(status.get("currentReplicas") or 0),
        age(obj, now),
    ]
    return cells, None


def format_metrics(specs: list[Any], statuses: list[Any]) -> str:
    """`cpu: 12%/50%, memory: 10Mi/100Mi + 1 more...`; `<unknown>` for a metric not measured yet."""
    if not specs:
        return "<none>"
    shown = [_format_one(spec, statuses[i] if i < len(statuses) else None) for i, spec in enumerate(specs)]
    text = ", ".join(shown[:SHOWN_METRICS])
    if len(shown) > SHOWN_METRICS:
        text += f" + {len(shown) - SHOWN_METRICS} more..."
    return text


def _source(metric: Any) -> tuple[str, Obj]:
    if not isinstance(metric, dict):
        return "", {}
    kind = str(metric.get("type") or "")
    key = {"ContainerResource": "containerResource"}.get(kind, kind[:1].lower() + kind[1:])
    source = metric.get(key)
    return kind, source if isinstance(source, dict) else {}


def _format_one(spec: Any, status: Any) -> str:
    kind, source = _source(spec)
    target = source.get("target") or {}
    _, current_source = _source(status)
    current = current_source.get("current") or {}
    unknown = "<unknown>"
    if kind in ("Resource", "ContainerResource"):
        name = source.get("name", "")
        prefix = f"{name}: " if kind == "Resource" else f"{name} of container {source.get('container', '')}: "
        if target.get("averageValue") is not None:
            return f"{prefix}{current.get('averageValue', unknown)}/{target['averageValue']}"
        now = current.get("averageUtilization")
        goal = target.get("averageUtilization")
        return f"{prefix}{unknown if now is None else f'{now}%'}/{'<auto>' if goal is None else f'{goal}%'}"
    if kind == "Pods":
        return f"{current.get('averageValue', unknown)}/{target.get('averageValue', '')}"
    if kind in ("Object", "External"):
        if target.get("averageValue") is not None:
            return f"{current.get('averageValue', unknown)}/{target['averageValue']} (avg)"
        return f"{current.get('value', unknown)}/{target.get('value', '')}"
    return "<unknown type>"
