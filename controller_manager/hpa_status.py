"""The HPA's status conditions: AbleToScale, ScalingActive and ScalingLimited, in that order, each with the time
its status last changed (upstream's setConditionInList)."""

from __future__ import annotations

from apimachinery.timefmt import now_rfc3339
from controller_manager.podutil import Obj

ORDER = ("AbleToScale", "ScalingActive", "ScalingLimited")


def set_condition(status: Obj, type_: str, value: str, reason: str, message: str) -> None:
    """Set one condition; lastTransitionTime moves only when its status changes."""
    conditions: list[Obj] = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    existing = next((c for c in conditions if c.get("type") == type_), None)
    if existing is None:
        existing = {"type": type_, "lastTransitionTime": now_rfc3339()}
        conditions.append(existing)
    elif existing.get("status") != value:
        existing["lastTransitionTime"] = now_rfc3339()
    existing.update(status=value, reason=reason, message=message)
    rank = {name: i for i, name in enumerate(ORDER)}
    status["conditions"] = sorted(conditions, key=lambda c: rank.get(str(c.get("type")), len(ORDER)))


def status_changed(old: Obj, new: Obj) -> bool:
    """Whether the status needs writing (unset fields and None are the same)."""

    def clean(status: Obj) -> Obj:
        return {k: v for k, v in status.items() if v is not None}

    return clean(old) != clean(new)
