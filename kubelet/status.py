"""Pure pod status computation: Docker state + probe results -> the pod's `status` (no I/O here).

The phase follows the kubelet's getPhase: Pending while initializing or while a container waits without having
run; Running while any container runs (or will be restarted); Succeeded / Failed when all have terminated and the
restart policy will not start them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apimachinery.timefmt import now_rfc3339
from kubelet.runtime.docker import ContainerInfo


@dataclass
class ContainerView:
    """What the kubelet knows of one container of the spec."""

    spec: dict[str, Any]
    current: ContainerInfo | None = None  # the latest instance
    previous: ContainerInfo | None = None  # the one before it (for lastState)
    waiting_reason: str | None = (
        None  # set when the kubelet holds it back (CrashLoopBackOff, ErrImagePull, ...)
    )
    waiting_message: str = ""
    ready: bool = False
    started: bool = False


def terminated_state(info: ContainerInfo) -> dict[str, Any]:
    if info.oom_killed:
        reason = "OOMKilled"
    elif info.exit_code == 0:
        reason = "Completed"
    else:
        reason = "Error"
    state: dict[str, Any] = {
        "exitCode": info.exit_code,
        "reason": reason,
        "containerID": f"docker://{info.id}",
    }
    if info.started_at:
        state["startedAt"] = info.started_at
    if info.finished_at:
        state["finishedAt"] = info.finished_at
    if info.error:
        state["message"] = info.error
    return state


def container_status(view: ContainerView) -> dict[str, Any]:
    """One entry of containerStatuses / initContainerStatuses."""
    cur = view.current
    status: dict[str, Any] = {
        "name": view.spec["name"],
        "image": view.spec.get("image", ""),
        "imageID": "",
        "ready": False,
        "restartCount": cur.restart_count if cur else 0,
        "started": False,
        "state": {},
        "lastState": {},
    }
    if cur is not None:
        status["containerID"] = f"docker://{cur.id}"
        status["imageID"] = f"docker://{cur.image_id}" if cur.image_id else ""
    last = view.previous
    if view.waiting_reason:
        state: dict[str, Any] = {"reason": view.waiting_reason}
        if view.waiting_message:
            state["message"] = view.waiting_message
        status["state"] = {"waiting": state}
        if cur is not None and cur.exited:
            last = cur
    elif cur is None or cur.status == "created":
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    elif cur.running:
        status["state"] = {"running": {"startedAt": cur.started_at or cur.created}}
        status["started"] = view.started
        status["ready"] = view.ready
    else:
        status["state"] = {"terminated": terminated_state(cur)}
    if last is not None and last.exited:
        status["lastState"] = {"terminated": terminated_state(last)}
    return status


def _phase(
    restart_policy: str, init_views: list[ContainerView], app_views: list[ContainerView], init_failed: bool
) -> str:
    if init_failed:
        return "Failed"
    for v in init_views:
        cur = v.current
        if cur is None or not (cur.exited and cur.exit_code == 0):
            return "Pending"
    running = waiting = stopped = succeeded = 0
    for v in app_views:
        cur = v.current
        if v.waiting_reason:
            if cur is not None and cur.exited:
                stopped += 1  # waiting to restart: it has run before
            else:
                waiting += 1
        elif cur is None or cur.status == "created":
            waiting += 1
        elif cur.running:
            running += 1
        else:
            stopped += 1
            if cur.exit_code == 0:
                succeeded += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Running" if restart_policy == "OnFailure" else "Failed"
    return "Pending"


def _condition(
    old: dict[str, dict[str, Any]], ctype: str, ok: bool, reason: str | None, now: str
) -> dict[str, Any]:
    value = "True" if ok else "False"
    prev = old.get(ctype)
    cond: dict[str, Any] = {
        "type": ctype,
        "status": value,
        "lastProbeTime": None,
        "lastTransitionTime": prev["lastTransitionTime"]
        if prev and prev.get("status") == value and prev.get("lastTransitionTime")
        else now,
    }
    if not ok and reason:
        cond["reason"] = reason
    return cond


def pod_status(
    pod: dict[str, Any],
    init_views: list[ContainerView],
    app_views: list[ContainerView],
    *,
    pod_ip: str | None,
    host_ip: str,
    start_time: str | None,
    init_failed: bool = False,
    now: str | None = None,
) -> dict[str, Any]:
    """The pod's whole `status` as this kubelet sees it. Conditions keep their lastTransitionTime when
    their status did not change."""
    now = now or now_rfc3339()
    old_status = pod.get("status") or {}
    old = {c.get("type"): c for c in old_status.get("conditions") or []}
    restart_policy = pod.get("spec", {}).get("restartPolicy") or "Always"
    phase = _phase(restart_policy, init_views, app_views, init_failed)
    if old_status.get("phase") in ("Succeeded", "Failed"):
        phase = old_status["phase"]  # terminal phases never change
    initialized = all(
        v.current is not None and v.current.exited and v.current.exit_code == 0 for v in init_views
    )
    statuses = [container_status(v) for v in app_views]
    containers_ready = bool(statuses) and all(s["ready"] for s in statuses)
    if phase in ("Succeeded", "Failed"):
        containers_ready = False
    not_ready = [s["name"] for s in statuses if not s["ready"]]
    reason = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
    conditions = [
        _condition(old, "PodReadyToStartContainers", pod_ip is not None, None, now),
        _condition(old, "Initialized", initialized or phase == "Succeeded", "ContainersNotInitialized", now),
        _condition(old, "Ready", containers_ready, reason, now),
        _condition(old, "ContainersReady", containers_ready, reason, now),
        _condition(old, "PodScheduled", True, None, now),
    ]
    for c in conditions:
        if (
            c["type"] in ("Ready", "ContainersReady")
            and not containers_ready
            and not_ready
            and phase
            not in (
                "Succeeded",
                "Failed",
            )
        ):
            c["message"] = f"containers with unready status: [{' '.join(not_ready)}]"
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "containerStatuses": statuses,
        "qosClass": qos_class(pod),
    }
    if init_views:
        status["initContainerStatuses"] = [container_status(v) for v in init_views]
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if start_time:
        status["startTime"] = start_time
    return status


def qos_class(pod: dict[str, Any]) -> str:
    """Guaranteed (limits == requests for cpu and memory everywhere), BestEffort (none), else Burstable."""
    containers = (pod.get("spec", {}).get("containers") or []) + (
        pod.get("spec", {}).get("initContainers") or []
    )
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in limits or requests.get(r, limits[r]) != limits[r]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def status_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether writing `new` over `old` changes anything the kubelet owns."""
    return any(old.get(k) != v for k, v in new.items())
