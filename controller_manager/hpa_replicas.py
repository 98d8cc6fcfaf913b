"""How many replicas one resource metric asks for: the HPA's replica calculator, as pure functions.

The arithmetic is upstream's (pkg/controller/podautoscaler/replica_calculator.go), written again here:

* Pods are grouped first (`group_pods`): deleted and failed pods are ignored; pending pods, and for cpu pods not
  yet ready (or still in their cpu initialization period with a sample taken before readiness), are "unready";
  pods without a metric are "missing"; the rest are ready.
* Utilization is the sum of usage over the sum of requests of the pods that have metrics, in whole percent;
  the usage ratio is that over the target. A ratio within the tolerance (0.1) of 1 changes nothing.
* With no unready or missing pods the answer is ceil(ratio * ready pods). Otherwise the missing pods are taken
  to use the target (scale-down) or nothing (scale-up), unready ones nothing (scale-up only), the ratio is taken
  again, and a result that would change direction, or fall within the tolerance, keeps the current count.

Values are in milli-units throughout (millicores, milli-bytes), as upstream's metrics client reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apimachinery.validation import parse_quantity
from controller_manager.podutil import Obj

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = timedelta(minutes=5)
INITIAL_READINESS_DELAY = timedelta(seconds=30)


class MetricError(Exception):
    """The metric gives no replica count (no pods, no metrics, a missing request)."""


@dataclass(frozen=True)
class PodMetric:
    """One pod's usage of one resource (summed over its containers), in milli-units."""

    value: int
    timestamp: datetime
    window: timedelta


@dataclass(frozen=True)
class Groups:
    ready: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


@dataclass(frozen=True)
class Proposal:
    replicas: int
    utilization: int | None  # whole percent of requests (Utilization targets)
    average: int  # milli-units per pod


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ready_condition(pod: Obj) -> Obj | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition
    return None


def group_pods(pods: list[Obj], metrics: dict[str, PodMetric], resource: str, now: datetime) -> Groups:
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = str(pod["metadata"]["name"])
        status = pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            ignored.add(name)
            continue
        if status.get("phase") == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu" and _cpu_unready(pod, metric, now):
            unready.add(name)
            continue
        ready += 1
    return Groups(ready, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_unready(pod: Obj, metric: PodMetric, now: datetime) -> bool:
    """A cpu sample is not trusted from a pod that is not ready, or that became ready so recently that the sample
    may cover its start-up (upstream's groupPods)."""
    condition = _ready_condition(pod)
    started = _time((pod.get("status") or {}).get("startTime"))
    if condition is None or started is None:
        return True
    transition = _time(condition.get("lastTransitionTime")) or started
    not_ready = condition.get("status") == "False"
    if started + CPU_INITIALIZATION_PERIOD > now:
        return not_ready or metric.timestamp < transition + metric.window
    return not_ready and started + INITIAL_READINESS_DELAY > transition


def pod_requests(pods: list[Obj], resource: str, container: str | None = None) -> dict[str, int]:
    """Each pod's request of `resource` in milli-units, summed over its containers (or the one named);
    MetricError when a container has none (the HPA cannot compute utilization then)."""
    out: dict[str, int] = {}
    for pod in pods:
        name = str(pod["metadata"]["name"])
        total = 0
        for box in (pod.get("spec") or {}).get("containers") or []:
            if container and box.get("name") != container:
                continue
            request = ((box.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise MetricError(
                    f"missing request for {resource} in container {box.get('name')} of Pod {name}"
                )
            total += round(parse_quantity(request) * 1000)
        out[name] = total
    return out


def utilization_ratio(
    metrics: dict[str, PodMetric], requests: dict[str, int], target: int
) -> tuple[float, int, int]:
    """(usage ratio, utilization in whole percent, average usage) over the pods with both a metric and a request."""
    used = requested = entries = 0
    for name, metric in metrics.items():
        if name not in requests:
            continue  # a metric of a pod we do not know: requests are checked elsewhere
        used += metric.value
        requested += requests[name]
        entries += 1
    if requested == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = used * 100 // requested
    return utilization / target, utilization, used // entries


def usage_ratio(metrics: dict[str, PodMetric], target: int) -> tuple[float, int]:
    """(usage ratio, average usage) of a plain average-value target."""
    average = sum(m.value for m in metrics.values()) // len(metrics)
    return average / target, average


def _counted(
    pods: list[Obj], metrics: dict[str, PodMetric], resource: str, now: datetime
) -> tuple[Groups, dict[str, PodMetric]]:
    """The pods' groups and the metrics that count (not of ignored or unready pods); MetricError when none do."""
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    groups = group_pods(pods, metrics, resource, now)
    metrics = {k: v for k, v in metrics.items() if k not in groups.ignored and k not in groups.unready}
    if not metrics:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return groups, metrics


def _filled(
    metrics: dict[str, PodMetric],
    groups: Groups,
    ratio: float,
    at_target: Callable[[str], int],
    now: datetime,
) -> dict[str, PodMetric]:
    """`metrics` with the cautious guesses for the pods without one: a pod with no metric uses `at_target(name)`
    on a scale-down and nothing on a scale-up; an unready pod uses nothing on a scale-up."""
    filled = dict(metrics)
    for name in groups.missing:
        if ratio < 1.0:
            filled[name] = PodMetric(at_target(name), now, timedelta(0))
        elif ratio > 1.0:
            filled[name] = PodMetric(0, now, timedelta(0))
    if groups.unready and ratio > 1.0:
        for name in groups.unready:
            filled[name] = PodMetric(0, now, timedelta(0))
    return filled


def utilization_replicas(
    current: int,
    target: int,
    pods: list[Obj],
    metrics: dict[str, PodMetric],
    resource: str,
    now: datetime,
    *,
    container: str | None = None,
    tolerance: float = TOLERANCE,
) -> Proposal:
    """The replicas a `target` percent of requests asks for (GetResourceReplicas)."""
    groups, metrics = _counted(pods, metrics, resource, now)
    requests = pod_requests(pods, resource, container)
    _, utilization, average = utilization_ratio(metrics, requests, target)
    fallback = max(100, target)
    replicas = _replicas(
        current,
        groups,
        metrics,
        lambda counted: utilization_ratio(counted, requests, target)[0],
        lambda name: requests.get(name, 0) * fallback // 100,
        now,
        tolerance,
    )
    return Proposal(replicas, utilization, average)


def average_value_replicas(
    current: int,
    target: int,
    pods: list[Obj],
    metrics: dict[str, PodMetric],
    resource: str,
    now: datetime,
    *,
    tolerance: float = TOLERANCE,
) -> Proposal:
    """The replicas an average of `target` milli-units per pod asks for (calcPlainMetricReplicas)."""
    groups, metrics = _counted(pods, metrics, resource, now)
    _, average = usage_ratio(metrics, target)
    replicas = _replicas(
        current,
        groups,
        metrics,
        lambda counted: usage_ratio(counted, target)[0],
        lambda _name: target,
        now,
        tolerance,
    )
    return Proposal(replicas, None, average)


def _replicas(
    current: int,
    groups: Groups,
    metrics: dict[str, PodMetric],
    ratio_of: Callable[[dict[str, PodMetric]], float],
    at_target: Callable[[str], int],
    now: datetime,
    tolerance: float,
) -> int:
    """The replica count both kinds of target ask for, given `ratio_of(metrics)`, the usage over the target: the
    ready pods scaled by the ratio when every pod counted; otherwise the ratio again with the cautious guesses of
    `_filled` for the missing and unready pods, settled by `_settled`."""
    ratio = ratio_of(metrics)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        return current if abs(1.0 - ratio) <= tolerance else math.ceil(ratio * groups.ready)
    filled = _filled(metrics, groups, ratio, at_target, now)
    return _settled(current, ratio, ratio_of(filled), len(filled), tolerance)


def _settled(current: int, ratio: float, new_ratio: float, counted: int, tolerance: float) -> int:
    """The count after filling in missing and unready pods: the current one when the change is within the
    tolerance or the fill-in turned the direction around."""
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def milli_quantity(milli: int) -> str:
    """A milli-unit amount as a canonical decimal Quantity: 250 -> "250m", 2000 -> "2", 3000000 -> "3k"."""
    if milli % 1000:
        return f"{milli}m"
    value = milli // 1000
    suffixes = ["", "k", "M", "G", "T", "P", "E"]
    step = 0
    while value and value % 1000 == 0 and step < len(suffixes) - 1:
        value //= 1000
        step += 1
    return f"{value}{suffixes[step]}"
