"""Job decisions as pure functions (kubernetes/pkg/controller/job): pod failure and completion accounting,
completion indexes and their compact text form, the pods a Job creates, which pods to remove first, the
pod-failure backoff, deadlines, and conditions.

Accounting follows Kubernetes' tracking with finalizers: every pod is created with the
`batch.kubernetes.io/job-tracking` finalizer; a finished pod that still has it is not counted yet. The controller
first records its uid in `status.uncountedTerminatedPods`, then removes the finalizer, then moves the uid into the
`succeeded`/`failed` counters; so a pod is counted exactly once, even across controller restarts and even when it
is deleted right after finishing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta

from apimachinery.workloads import JOB_COMPLETION_INDEX, JOB_COMPLETION_INDEX_ENV, JOB_TRACKING_FINALIZER
from controller_manager.podutil import (
    Obj,
    controller_reference,
    deletion_rank,
    get_condition,
    is_terminating,
    meta,
    parse_time,
)

COMPLETE, FAILED, SUSPENDED = "Complete", "Failed", "Suspended"
FAILURE_TARGET, SUCCESS_CRITERIA_MET = "FailureTarget", "SuccessCriteriaMet"
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")
MAX_POD_CHANGES_PER_SYNC = 500  # Kubernetes' MaxPodCreateDeletePerSync
MAX_UNCOUNTED = 500  # uids recorded in uncountedTerminatedPods per sync (keeps the status small)
MAX_BACKOFF_SECONDS = 600.0


def spec(job: Obj) -> Obj:
    return job.get("spec") or {}


def condition_true(job: Obj, ctype: str) -> bool:
    cond = get_condition(job.get("status"), ctype)
    return bool(cond and cond.get("status") == "True")


def is_finished(job: Obj) -> bool:
    return condition_true(job, COMPLETE) or condition_true(job, FAILED)


def is_suspended(job: Obj) -> bool:
    return spec(job).get("suspend") is True


def is_indexed(job: Obj) -> bool:
    return spec(job).get("completionMode") == "Indexed"


def only_replace_failed(job: Obj) -> bool:
    """podReplacementPolicy Failed (always with a podFailurePolicy): terminating pods are not replaced yet."""
    return spec(job).get("podReplacementPolicy") == "Failed" or spec(job).get("podFailurePolicy") is not None


def has_finalizer(pod: Obj) -> bool:
    return JOB_TRACKING_FINALIZER in (meta(pod).get("finalizers") or [])


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it succeeded: an orphan that never got to
    report Failed must still count."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return is_terminating(pod) and phase(pod) != "Succeeded"


def is_active(pod: Obj) -> bool:
    return phase(pod) not in ("Succeeded", "Failed") and not is_terminating(pod)


def completion_index(pod: Obj) -> int | None:
    value = (meta(pod).get("annotations") or {}).get(JOB_COMPLETION_INDEX)
    try:
        index = int(str(value))
    except ValueError:
        return None
    return index if index >= 0 else None


def valid_index(pod: Obj, job: Obj) -> bool:
    index = completion_index(pod)
    return index is not None and index < int(spec(job).get("completions") or 0)


# --- completion indexes: "1,3-5,7" ----------------------------------------------------------------------------


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """The indexes of `1,3-5,7` below `completions` (corrupt parts are ignored, as Kubernetes ignores them)."""
    out: set[int] = set()
    for part in (text or "").split(","):
        first, _, last = part.partition("-")
        try:
            lo = int(first)
            hi = int(last) if last else lo
        except ValueError:
            continue
        out.update(range(lo, min(hi, completions - 1) + 1))
    return out


def format_indexes(indexes: set[int]) -> str:
    """Increasing, with runs of three or more as `first-last` (Kubernetes' orderedIntervals.String)."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j == i:
            parts.append(str(ordered[i]))
        elif j == i + 1:
            parts += [str(ordered[i]), str(ordered[j])]
        else:
            parts.append(f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def first_pending_indexes(active: list[Obj], done: set[int], count: int, completions: int) -> list[int]:
    """The lowest `count` indexes below `completions` that no active pod runs and that have not succeeded."""
    busy = done | {i for i in (completion_index(p) for p in active) if i is not None}
    return [i for i in range(completions) if i not in busy][:count]


# --- the pods a Job makes and removes -------------------------------------------------------------------------


def new_pod(job: Obj, index: int | None) -> Obj:
    """A pod of `job`: its template, the tracking finalizer, owned by the Job; for an Indexed Job also the
    completion index (annotation, label, JOB_COMPLETION_INDEX env) and the hostname `<job>-<index>`."""
    m = meta(job)
    template = copy.deepcopy(spec(job).get("template") or {})
    tmeta = template.get("metadata") or {}
    pod_spec = template.get("spec") or {}
    labels = dict(tmeta.get("labels") or {})
    annotations = dict(tmeta.get("annotations") or {})
    finalizers = list(tmeta.get("finalizers") or [])
    if JOB_TRACKING_FINALIZER not in finalizers:
        finalizers.append(JOB_TRACKING_FINALIZER)
    generate_name = f"{m['name']}-"
    if index is not None:
        annotations[JOB_COMPLETION_INDEX] = str(index)
        labels[JOB_COMPLETION_INDEX] = str(index)
        pod_spec["hostname"] = f"{m['name']}-{index}"
        generate_name = f"{m['name']}-{index}-"
        env_ref = {
            "fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.labels['{JOB_COMPLETION_INDEX}']"}
        }
        for container in [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]:
            env = container.setdefault("env", [])
            if not any(e.get("name") == JOB_COMPLETION_INDEX_ENV for e in env):
                env.append({"name": JOB_COMPLETION_INDEX_ENV, "valueFrom": copy.deepcopy(env_ref)})
    pod_meta: Obj = {
        "generateName": generate_name[:58],  # room for the 5-character suffix the server appends
        "namespace": m.get("namespace"),
        "labels": labels,
        "finalizers": finalizers,
        "ownerReferences": [controller_reference(job, "batch/v1", "Job")],
    }
    if annotations:
        pod_meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def pods_for_removal(job: Obj, active: list[Obj], at_least: int) -> list[Obj]:
    """Active pods to remove: for Indexed Jobs every pod without a valid index and all but one per index, then
    the cheapest pods (unscheduled, pending, not ready first) until `at_least` are chosen."""
    remove: list[Obj] = []
    keep = list(active)
    if is_indexed(job):
        keep = []
        by_index: dict[int, list[Obj]] = {}
        for pod in active:
            if valid_index(pod, job):
                by_index.setdefault(completion_index(pod) or 0, []).append(pod)
            else:
                remove.append(pod)
        for pods in by_index.values():
            ranked = sorted(pods, key=deletion_rank)
            remove += ranked[:-1]
            keep.append(ranked[-1])
    if len(remove) < at_least:
        remove += sorted(keep, key=deletion_rank)[: at_least - len(remove)]
    return remove


def wanted_active(job: Obj, active: int, succeeded: int) -> int:
    """How many pods should run: parallelism, but no more than the completions still missing."""
    parallelism = int(spec(job).get("parallelism") or 0)
    completions = spec(job).get("completions")
    if completions is None:
        return active if succeeded > 0 else parallelism
    return max(0, min(int(completions) - succeeded, parallelism))


# --- failures, backoff, deadlines -----------------------------------------------------------------------------


def finish_time(pod: Obj) -> datetime | None:
    """When a pod finished: its containers' last finishedAt, else Ready=False's transition, else its deletion."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    times = [
        parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")) for cs in statuses
    ]
    if statuses and all(times):
        return max(t for t in times if t)
    ready = get_condition(pod.get("status"), "Ready")
    if ready and ready.get("status") == "False" and parse_time(ready.get("lastTransitionTime")):
        return parse_time(ready.get("lastTransitionTime"))
    deleted = parse_time(meta(pod).get("deletionTimestamp"))
    if deleted:
        return deleted - timedelta(seconds=int(meta(pod).get("deletionGracePeriodSeconds") or 0))
    return parse_time(meta(pod).get("creationTimestamp"))


@dataclass(frozen=True)
class Backoff:
    """Failures since the last success and when the last one happened (kept in memory, as in Kubernetes)."""

    failures: int = 0
    last_failure: datetime | None = None

    def updated(self, new_succeeded: list[Obj], new_failed: list[Obj]) -> Backoff:
        failed_at = sorted(t for t in (finish_time(p) for p in new_failed) if t)
        if not new_succeeded:
            if not new_failed:
                return self
            return Backoff(self.failures + len(new_failed), failed_at[-1] if failed_at else self.last_failure)
        last_success = max((t for t in (finish_time(p) for p in new_succeeded) if t), default=None)
        after = [t for t in failed_at if last_success is None or t > last_success]
        return Backoff(len(after), after[-1] if after else None)

    def remaining(self, at: datetime, base: float, cap: float = MAX_BACKOFF_SECONDS) -> float:
        """Seconds to wait before creating a replacement pod: base * 2^(failures-1), capped, since the last one."""
        if self.failures == 0 or self.last_failure is None:
            return 0.0
        delay = min(base * 2 ** (self.failures - 1), cap)
        return max(0.0, delay - (at - self.last_failure).total_seconds())


def restarts_past_limit(job: Obj, pods: list[Obj]) -> bool:
    """restartPolicy OnFailure: container restarts of pending and running pods count against backoffLimit."""
    pod_spec = (spec(job).get("template") or {}).get("spec") or {}
    if pod_spec.get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        if phase(pod) in ("Pending", "Running"):
            status = pod.get("status") or {}
            for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                restarts += int(cs.get("restartCount") or 0)
    limit = int(spec(job).get("backoffLimit") or 0)
    return restarts > 0 if limit == 0 else restarts >= limit


def deadline_left(job: Obj, at: datetime) -> float | None:
    """Seconds until activeDeadlineSeconds runs out (<= 0: past it); None without a deadline or while suspended."""
    deadline = spec(job).get("activeDeadlineSeconds")
    started = parse_time((job.get("status") or {}).get("startTime"))
    if deadline is None or started is None or is_suspended(job):
        return None
    return float(deadline) - (at - started).total_seconds()


def new_condition(ctype: str, status: str, reason: str, message: str, stamp: str) -> Obj:
    return {
        "type": ctype,
        "status": status,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def ensure_condition(status: Obj, ctype: str, value: str, reason: str, message: str, stamp: str) -> bool:
    """Set a condition (Kubernetes' ensureJobConditionStatus): never add one as False; True if anything changed."""
    conditions = status.setdefault("conditions", [])
    for i, cond in enumerate(conditions):
        if cond.get("type") == ctype:
            if (cond.get("status"), cond.get("reason"), cond.get("message")) == (value, reason, message):
                return False
            conditions[i] = new_condition(ctype, value, reason, message, stamp)
            return True
    if value == "False":
        if not conditions:
            status.pop("conditions")
        return False
    conditions.append(new_condition(ctype, value, reason, message, stamp))
    return True
