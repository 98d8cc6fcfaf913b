"""From the metrics' proposal to the replica count the HPA sets: stabilization windows and scaling policies.

Upstream's normalization (pkg/controller/podautoscaler/horizontal.go), as pure functions over the history the
controller keeps per HPA (`History`: recent recommendations and recent scale events):

* With a behavior (`normalize_with_behavior`): the proposal is held between the lowest recommendation of the
  scale-up window and the highest of the scale-down window (stabilization), then limited by the policies: each
  policy allows a change per period, counted from the replicas at the start of that period (the scale events in
  it undone); selectPolicy Max takes the policy that allows the most change, Min the least, Disabled none.
* Without one (`normalize_legacy`): the highest recommendation of the downscale window (--horizontal-pod-
  autoscaler-downscale-stabilization, 5 minutes), then at most max(2 x current, 4) on the way up.

Both return the replicas and the reasons for the AbleToScale and ScalingLimited conditions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from controller_manager.podutil import Obj

SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    at: datetime


@dataclass(frozen=True)
class ScaleEvent:
    change: int  # replicas added (scale-up events) or removed (scale-down events), positive
    at: datetime


@dataclass
class History:
    """What the controller remembers about one HPA between syncs (in memory, as upstream)."""

    recommendations: list[Recommendation] = field(default_factory=list)
    scale_ups: list[ScaleEvent] = field(default_factory=list)
    scale_downs: list[ScaleEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Reason:
    reason: str
    message: str


@dataclass(frozen=True)
class Normalized:
    replicas: int
    able: Reason  # AbleToScale, status True
    limited: bool  # ScalingLimited status
    limit: Reason


READY = Reason("ReadyForNewScale", "recommended size matches current size")
UP_STABILIZED = Reason(
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
)
DOWN_STABILIZED = Reason(
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
)
WITHIN_RANGE = Reason("DesiredWithinRange", "the desired count is within the acceptable range")
TOO_FEW = Reason("TooFewReplicas", "the desired replica count is less than the minimum replica count")
TOO_MANY = Reason("TooManyReplicas", "the desired replica count is more than the maximum replica count")
UP_LIMIT = Reason(
    "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
)
DOWN_LIMIT = Reason(
    "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
)


# --- with a behavior ------------------------------------------------------------------------------------------


def stabilize(
    history: History, current: int, desired: int, up_window: int, down_window: int, now: datetime
) -> tuple[int, Reason]:
    """Hold `desired` within the recommendations of the two windows, and record it (replacing a sample older
    than both windows, so the list stays as long as the windows need)."""
    up_cutoff = now - timedelta(seconds=up_window)
    down_cutoff = now - timedelta(seconds=down_window)
    up, down = desired, desired
    old: int | None = None
    for i, rec in enumerate(history.recommendations):
        if rec.at > up_cutoff:
            up = min(rec.replicas, up)
        if rec.at > down_cutoff:
            down = max(rec.replicas, down)
        if rec.at < up_cutoff and rec.at < down_cutoff:
            old = i
    recommendation = min(max(current, up), down)
    sample = Recommendation(desired, now)
    if old is not None:
        history.recommendations[old] = sample
    else:
        history.recommendations.append(sample)
    return recommendation, UP_STABILIZED if desired >= current else DOWN_STABILIZED


def _changed_in(period: int, events: list[ScaleEvent], now: datetime) -> int:
    cutoff = now - timedelta(seconds=period)
    return sum(e.change for e in events if e.at > cutoff)


def _policies(current: int, history: History, rules: Obj, now: datetime) -> Iterator[tuple[int, bool, int]]:
    """Per scaling policy: the replicas at the start of its period, whether it counts pods (else a percent), and
    its value."""
    for policy in rules.get("policies") or []:
        period = int(policy.get("periodSeconds") or 0)
        start = (
            current
            - _changed_in(period, history.scale_ups, now)
            + _changed_in(period, history.scale_downs, now)
        )
        yield start, policy.get("type") == "Pods", int(policy.get("value") or 0)


def scale_up_limit(current: int, history: History, rules: Obj, now: datetime) -> int:
    """The most replicas the scale-up policies allow now."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    pick = min if select == "Min" else max
    result = INT32_MAX if select == "Min" else -INT32_MAX
    for start, pods, value in _policies(current, history, rules, now):
        # Percent: rounded up, or a small target could never grow
        result = pick(result, start + value if pods else math.ceil(start * (1 + value / 100)))
    return result


def scale_down_limit(current: int, history: History, rules: Obj, now: datetime) -> int:
    """The fewest replicas the scale-down policies allow now."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    pick = max if select == "Min" else min
    result = -INT32_MAX if select == "Min" else INT32_MAX
    for start, pods, value in _policies(current, history, rules, now):
        result = pick(result, start - value if pods else int(start * (1 - value / 100)))
    return result


def limit_by_rate(
    history: History, current: int, desired: int, minimum: int, maximum: int, behavior: Obj, now: datetime
) -> tuple[int, Reason]:
    """`desired` within min/max and what the policies allow (convertDesiredReplicasWithBehaviorRate)."""
    if desired > current:
        limit = max(scale_up_limit(current, history, behavior["scaleUp"], now), current)
        allowed, reason = (limit, UP_LIMIT) if maximum > limit else (maximum, TOO_MANY)
        if desired > allowed:
            return allowed, reason
    elif desired < current:
        limit = min(scale_down_limit(current, history, behavior["scaleDown"], now), current)
        allowed, reason = (limit, DOWN_LIMIT) if minimum < limit else (minimum, TOO_FEW)
        if desired < allowed:
            return allowed, reason
    return desired, WITHIN_RANGE


def normalize_with_behavior(
    history: History, current: int, proposed: int, minimum: int, maximum: int, behavior: Obj, now: datetime
) -> Normalized:
    up = int(behavior["scaleUp"].get("stabilizationWindowSeconds") or 0)
    down = int(behavior["scaleDown"].get("stabilizationWindowSeconds") or 0)
    stabilized, reason = stabilize(history, current, proposed, up, down, now)
    able = reason if stabilized != proposed else READY
    replicas, limit = limit_by_rate(history, current, stabilized, minimum, maximum, behavior, now)
    return Normalized(replicas, able, replicas != stabilized, limit)


# --- without one ----------------------------------------------------------------------------------------------


def normalize_legacy(
    history: History,
    current: int,
    proposed: int,
    minimum: int,
    maximum: int,
    down_window: float,
    now: datetime,
) -> Normalized:
    cutoff = now - timedelta(seconds=down_window)
    stabilized = proposed
    old: int | None = None
    for i, rec in enumerate(history.recommendations):
        if rec.at > cutoff:
            stabilized = max(stabilized, rec.replicas)
        else:
            old = i
    sample = Recommendation(proposed, now)
    if old is not None:
        history.recommendations[old] = sample
    else:
        history.recommendations.append(sample)
    able = DOWN_STABILIZED if stabilized != proposed else READY
    up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    if stabilized < minimum:
        replicas, limit = minimum, TOO_FEW
    elif stabilized > min(up_limit, maximum):
        replicas, limit = min(up_limit, maximum), (UP_LIMIT if maximum > up_limit else TOO_MANY)
    else:
        replicas, limit = stabilized, WITHIN_RANGE
    return Normalized(replicas, able, replicas != stabilized, limit)


def record_scale(history: History, behavior: Obj | None, current: int, desired: int, now: datetime) -> None:
    """Remember a scale event for the policies' periods; forget those older than the longest period."""
    if not behavior:
        return
    if desired > current:
        events, rules = history.scale_ups, behavior["scaleUp"]
        events.append(ScaleEvent(desired - current, now))
    else:
        events, rules = history.scale_downs, behavior["scaleDown"]
        events.append(ScaleEvent(current - desired, now))
    longest = max((int(p.get("periodSeconds") or 0) for p in rules.get("policies") or []), default=0)
    cutoff = now - timedelta(seconds=longest)
    events[:] = [e for e in events if e.at > cutoff]
