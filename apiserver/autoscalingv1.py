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
from collections.abc import AsyncGenerator, Callable
from typing import Any

from apimachinery.resources import ResourceInfo
from apiserver.registry import Store
from apiserver.registry_types import DeleteOptions, ListOptions
from apiserver.watchcache import CacheEvent

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


class HPAV1Store(Store):
    """The autoscaling/v1 view: converts on the way in and out, shares the v2 store's cache and storage."""

    def __init__(self, info: ResourceInfo, v2: Store) -> None:
        super().__init__(info, v2.storage, v2.cache, v2.strategy, prefix=v2.prefix)

    async def get(self, namespace: str | None, name: str) -> Obj:
        return to_v1(await super().get(namespace, name))

    async def list(
        self, namespace: str | None, opts: ListOptions
    ) -> tuple[list[Obj], str, str | None, int | None]:
        items, revision, token, remaining = await super().list(namespace, opts)
        return [to_v1(o) for o in items], revision, token, remaining

    def watch(
        self,
        namespace: str | None,
        opts: ListOptions,
        *,
        timeout: float | None,
        bookmarks: bool,
        initial_events: bool | None = None,
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        events = super().watch(
            namespace, opts, timeout=timeout, bookmarks=bookmarks, initial_events=initial_events
        )
        return self._converted(events)

    async def _converted(
        self, events: AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        try:
            async for event_type, obj, _ in events:
                yield event_type, to_v1(obj), None  # the cache's encoded frames are autoscaling/v2
        finally:
            await events.aclose()

    async def create(self, namespace: str | None, obj: Obj, **options: Any) -> Obj:
        return to_v1(await super().create(namespace, to_v2(obj), **options))

    async def update(
        self, namespace: str | None, name: str, transform: Callable[[Obj], Obj], **options: Any
    ) -> tuple[Obj, bool]:
        updated, created = await super().update(
            namespace, name, lambda current: to_v2(transform(to_v1(current))), **options
        )
        return to_v1(updated), created

    async def delete(
        self, namespace: str | None, name: str, opts: DeleteOptions, **options: Any
    ) -> tuple[Obj, bool]:
        obj, gone = await super().delete(namespace, name, opts, **options)
        return to_v1(obj), gone
