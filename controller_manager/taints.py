"""Node taints and pod tolerations: which taints a node's Ready condition calls for, and when a pod must go.

Pure functions for the node lifecycle controller: Ready=Unknown (the kubelet stopped renewing its Lease) means the
`node.kubernetes.io/unreachable` taints, Ready=False means `node.kubernetes.io/not-ready`; a pod on a node with
NoExecute taints is evicted at once if it tolerates none of them, or when the shortest matching tolerationSeconds
runs out (Kubernetes' NoExecuteTaintManager).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from controller_manager.podutil import Obj, format_micro_time, parse_time

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
_OURS = {UNREACHABLE, NOT_READY}


def wanted_taint_key(ready_status: str | None) -> str | None:
    if ready_status == "Unknown":
        return UNREACHABLE
    if ready_status == "False":
        return NOT_READY
    return None


def reconcile_taints(taints: list[Obj], ready_status: str | None, at: datetime) -> list[Obj]:
    """The node's taints with exactly the lifecycle taints its Ready status calls for; other taints untouched."""
    key = wanted_taint_key(ready_status)
    result = [t for t in taints if t.get("key") not in _OURS or t.get("key") == key]
    if key:
        for effect in (NO_SCHEDULE, NO_EXECUTE):
            if not any(t.get("key") == key and t.get("effect") == effect for t in result):
                taint: Obj = {"key": key, "effect": effect}
                if effect == NO_EXECUTE:
                    # Sub-second precision: tolerationSeconds counts from here, and a truncated second would
                    # evict up to a second early.
                    taint["timeAdded"] = format_micro_time(at)
                result.append(taint)
    return result


def tolerates(toleration: Obj, taint: Obj) -> bool:
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key")
    op = toleration.get("operator") or "Equal"
    if not key:
        return op == "Exists"
    if key != taint.get("key"):
        return False
    if op == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def eviction_time(pod: Obj, taints: list[Obj], at: datetime) -> datetime | None:
    """When the pod must be evicted from a node with these taints: `at` (now), a later time, or None (never)."""
    no_execute = [t for t in taints if t.get("effect") == NO_EXECUTE]
    if not no_execute:
        return None
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    deadline: datetime | None = None
    forever = True
    for taint in no_execute:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return at
        seconds = [t["tolerationSeconds"] for t in matching if t.get("tolerationSeconds") is not None]
        if not seconds:
            continue  # tolerated forever
        forever = False
        added = parse_time(taint.get("timeAdded")) or at
        due = added + timedelta(seconds=max(0, min(int(s) for s in seconds)))
        deadline = due if deadline is None or due < deadline else deadline
    return None if forever else deadline
