"""Facts about pods, nodes and times that several controllers ask: readiness, availability, activity, ranking.

All functions are pure and take plain JSON dicts (as they arrive from the API); times are RFC3339 strings on the
wire and aware `datetime`s here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apimachinery.timefmt import format_time
from apimachinery.timefmt import parse_time_or_none as parse_time  # controllers import both from here

Obj = dict[str, Any]  # an API object as JSON: the one definition the controllers import

_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def now() -> datetime:
    return datetime.now(UTC)


def format_micro_time(t: datetime) -> str:
    """RFC3339 with microseconds (metav1.MicroTime); Go's and Python's clients parse it as a Time too."""
    return format_time(t, micro=True)


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def controller_reference(owner: Obj, api_version: str, kind: str) -> Obj:
    """An owner reference to `owner` as the controller of what it creates, blocking the owner's deletion in the
    foreground until it is gone."""
    m = owner["metadata"]
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_reference(pod: Obj) -> Obj:
    """The targetRef of an endpoint that is `pod`."""
    m = pod["metadata"]
    return {"kind": "Pod", "namespace": m.get("namespace"), "name": m["name"], "uid": m.get("uid")}


def key_of(obj: Obj) -> str:
    """The cache key: `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc)."""
    m = meta(obj)
    ns = m.get("namespace")
    return f"{ns}/{m.get('name')}" if ns else str(m.get("name"))


def split_key(key: str) -> tuple[str | None, str]:
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


def get_condition(status: Obj | None, ctype: str) -> Obj | None:
    for cond in (status or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = get_condition(pod.get("status"), "Ready")
    return bool(cond and cond.get("status") == "True")


def is_pod_available(pod: Obj, min_ready_seconds: int, at: datetime) -> bool:
    """Ready, and Ready for at least `min_ready_seconds` (by the condition's lastTransitionTime)."""
    cond = get_condition(pod.get("status"), "Ready")
    if not cond or cond.get("status") != "True":
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time(cond.get("lastTransitionTime"))
    return since is not None and since + timedelta(seconds=min_ready_seconds) <= at


def is_terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_pod_active(pod: Obj) -> bool:
    """Counts towards a controller's replicas: not finished and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def controller_ref(obj: Obj) -> Obj | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def restarts(pod: Obj) -> int:
    return sum(
        int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or []
    )


def _ready_since(pod: Obj) -> datetime | None:
    cond = get_condition(pod.get("status"), "Ready")
    if cond and cond.get("status") == "True":
        return parse_time(cond.get("lastTransitionTime"))
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def deletion_rank(pod: Obj) -> tuple[Any, ...]:
    """Sort key: the pods to delete first sort first (Kubernetes' ActivePods ordering).

    Unassigned before assigned; Pending before Unknown before Running; not ready before ready; ready for a shorter
    time before longer; more container restarts before fewer; newer before older.
    """
    status = pod.get("status") or {}
    assigned = bool((pod.get("spec") or {}).get("nodeName"))
    phase = _PHASE_RANK.get(status.get("phase") or "Pending", 0)
    ready = is_pod_ready(pod)
    since = _ready_since(pod) or _EPOCH
    created = parse_time(meta(pod).get("creationTimestamp"))
    # Newer first: negate the timestamp; a pod with no creation time counts as the newest of all.
    age_key = -(created.timestamp()) if created else float("-inf")
    # Ready for less time first: a later readiness timestamp sorts first.
    return (assigned, phase, ready, -since.timestamp(), -restarts(pod), age_key)
