"""Deployment status and conditions, computed from the ReplicaSets: pure functions.

The fields `kubectl rollout status` reads (observedGeneration, replicas, updatedReplicas, availableReplicas) and the
two conditions: Available (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing
(NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
DeploymentPaused, DeploymentResumed), following kubernetes/pkg/controller/deployment/progress.go and sync.go.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from controller_manager import rollout
from controller_manager.podutil import Obj, format_time, get_condition, parse_time

AVAILABLE = "Available"
PROGRESSING = "Progressing"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"

MAX_INT32 = 2**31 - 1


def new_condition(ctype: str, status: str, reason: str, message: str, at: datetime) -> Obj:
    t = format_time(at)
    return {
        "type": ctype,
        "status": status,
        "lastUpdateTime": t,
        "lastTransitionTime": t,
        "reason": reason,
        "message": message,
    }


def set_condition(status: Obj, cond: Obj) -> None:
    """Kubernetes' SetDeploymentCondition: same status and reason is a no-op; same status keeps the transition time."""
    current = get_condition(status, cond["type"])
    if current and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def progress_deadline(deployment: Obj) -> int | None:
    value = (deployment.get("spec") or {}).get("progressDeadlineSeconds", 600)
    return None if value is None or value == MAX_INT32 else int(value)


def calculate_status(deployment: Obj, all_rss: list[Obj], new_rs: Obj | None, at: datetime) -> Obj:
    """The status for the current ReplicaSets, with the existing conditions plus an up-to-date Available."""
    old_status = deployment.get("status") or {}
    available = rollout.total_status(all_rss, "availableReplicas")
    unavailable = max(0, rollout.total_spec_replicas(all_rss) - available)
    status: Obj = {
        "observedGeneration": (deployment.get("metadata") or {}).get("generation", 0),
        "replicas": rollout.total_status(all_rss, "replicas"),
        "updatedReplicas": rollout.status_int(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": rollout.total_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    if old_status.get("collisionCount") is not None:
        status["collisionCount"] = old_status["collisionCount"]
    if old_status.get("conditions"):
        status["conditions"] = copy.deepcopy(old_status["conditions"])
    if available >= rollout.replicas_of(deployment) - rollout.max_unavailable(deployment):
        cond = new_condition(AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.", at)
    else:
        cond = new_condition(
            AVAILABLE, "False", MIN_UNAVAILABLE, "Deployment does not have minimum availability.", at
        )
    set_condition(status, cond)
    return status


def deployment_complete(deployment: Obj, status: Obj) -> bool:
    replicas = rollout.replicas_of(deployment)
    return (
        status.get("updatedReplicas", 0) == replicas
        and status.get("replicas", 0) == replicas
        and status.get("availableReplicas", 0) == replicas
        and status.get("observedGeneration", 0) >= (deployment.get("metadata") or {}).get("generation", 0)
    )


def deployment_progressing(deployment: Obj, new_status: Obj) -> bool:
    """Did anything move forward since the stored status? (more updated, fewer old, more ready or available)"""
    old = deployment.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new_status.get("replicas", 0) - new_status.get("updatedReplicas", 0)
    return (
        new_status.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
        or new_old < old_old
        or new_status.get("readyReplicas", 0) > old.get("readyReplicas", 0)
        or new_status.get("availableReplicas", 0) > old.get("availableReplicas", 0)
    )


def deployment_timed_out(deployment: Obj, status: Obj, at: datetime) -> bool:
    deadline = progress_deadline(deployment)
    if deadline is None:
        return False
    cond = get_condition(status, PROGRESSING)
    if not cond:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + timedelta(seconds=deadline) < at


def rollout_status(deployment: Obj, all_rss: list[Obj], new_rs: Obj | None, at: datetime) -> Obj:
    """The full status after a rollout step, with the Progressing condition (Kubernetes' syncRolloutStatus)."""
    status = calculate_status(deployment, all_rss, new_rs, at)
    if progress_deadline(deployment) is None:
        remove_condition(status, PROGRESSING)
        return status
    current = get_condition(deployment.get("status"), PROGRESSING)
    complete_already = (
        status["replicas"] == status["updatedReplicas"]
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    if complete_already:
        return status
    rs_name = (new_rs or {}).get("metadata", {}).get("name")
    subject = f'ReplicaSet "{rs_name}"' if rs_name else f'Deployment "{deployment["metadata"]["name"]}"'
    if deployment_complete(deployment, status):
        set_condition(
            status,
            new_condition(
                PROGRESSING, "True", NEW_RS_AVAILABLE, f"{subject} has successfully progressed.", at
            ),
        )
    elif deployment_progressing(deployment, status):
        cond = new_condition(PROGRESSING, "True", RS_UPDATED, f"{subject} is progressing.", at)
        if current and current.get("status") == "True":
            cond["lastTransitionTime"] = current.get("lastTransitionTime")
        # Replace outright: every bit of progress moves lastUpdateTime, which restarts the deadline.
        remove_condition(status, PROGRESSING)
        set_condition(status, cond)
    elif deployment_timed_out(deployment, status, at):
        set_condition(
            status,
            new_condition(PROGRESSING, "False", TIMED_OUT, f"{subject} has timed out progressing.", at),
        )
    return status


def paused_condition_change(deployment: Obj, at: datetime) -> Obj | None:
    """The Progressing condition to record on pause/resume, or None (Kubernetes' checkPausedConditions)."""
    if progress_deadline(deployment) is None:
        return None
    cond = get_condition(deployment.get("status"), PROGRESSING)
    if cond and cond.get("reason") == TIMED_OUT:
        return None
    paused = bool((deployment.get("spec") or {}).get("paused"))
    paused_recorded = bool(cond and cond.get("reason") == PAUSED)
    if paused and not paused_recorded:
        return new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", at)
    if not paused and paused_recorded:
        return new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", at)
    return None


def requeue_after(deployment: Obj, status: Obj, at: datetime) -> float | None:
    """Seconds until the progress deadline would pass for an unfinished rollout, so it is checked then."""
    deadline = progress_deadline(deployment)
    cond = get_condition(status, PROGRESSING)
    if deadline is None or not cond or cond.get("reason") in (NEW_RS_AVAILABLE, TIMED_OUT):
        return None
    if deployment_complete(deployment, status):
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    return max(0.0, (since + timedelta(seconds=deadline) - at).total_seconds()) + 1.0
