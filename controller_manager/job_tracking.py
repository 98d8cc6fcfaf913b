"""How a Job sync accounts for finished pods and decides its terminal condition, as pure steps on the status
(Kubernetes' trackJobStatusAndRemoveFinalizers, without the writes; `job.py` makes them in this order):

1. `count_uncounted`: uids in `uncountedTerminatedPods` whose pods no longer have the tracking finalizer move
   into the `succeeded`/`failed` counters;
2. `record_finished`: finished pods that still have it are added to `uncountedTerminatedPods` (Indexed Jobs:
   their indexes to `completedIndexes`) and returned, for their finalizers to be removed after the status write;
3. `finish_conditions`: the interim condition (SuccessCriteriaMet / FailureTarget) goes into the status first; the
   terminal one (Complete / Failed) follows once `all_counted`.

The status is an input of the next sync (the counters), so a sync must never start from a Job status older than
the controller's own last write: `StatusWrites` remembers the resourceVersion each Job's last status write
returned, and the controller skips the sync until its informer shows that version or a later one. Every write
carries the resourceVersion it was computed from, so a write from a stale status fails with 409 Conflict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from controller_manager import job_util as util
from controller_manager.podutil import Obj, is_terminating


@dataclass
class Sync:
    """One sync's view of a Job: its pods and the counts derived from them."""

    job: Obj
    pods: list[Obj]
    active: list[Obj]
    uncounted_succeeded: set[str]
    uncounted_failed: set[str]
    succeeded: int = 0
    failed: int = 0
    terminating: int = 0
    ready: int = 0
    done_indexes: set[int] = field(default_factory=set)
    prev_indexes: set[int] = field(default_factory=set)
    finished: Obj | None = None  # the condition the Job is heading for
    new_backoff: util.Backoff = field(default_factory=util.Backoff)


def count_uncounted(status: Obj, with_finalizer: set[str]) -> bool:
    """Move uids whose pods no longer have the finalizer from uncountedTerminatedPods into the counters."""
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    changed = False
    for key in ("succeeded", "failed"):
        uids = uncounted.get(key) or []
        keep = [u for u in uids if u in with_finalizer]
        if len(keep) != len(uids):
            status[key] = int(status.get(key) or 0) + len(uids) - len(keep)
            uncounted[key] = keep
            changed = True
    return changed


def record_finished(job: Obj, s: Sync, with_finalizer: set[str], old_status: Obj) -> tuple[list[Obj], bool]:
    """(pods whose finalizer may go now, whether the status changed): finished pods into uncountedTerminatedPods.

    A pod may lose its finalizer once it succeeded, once it counts as failed, or once the Job is finished or
    being deleted (a failing Job's pods all count as failed then; those of a successful one are not counted).
    """
    status = job["status"]
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    failing = s.finished is not None and s.finished["type"] != util.SUCCESS_CRITERIA_MET
    to_release: list[Obj] = []
    new_indexes: set[int] = set()
    changed = False
    for pod in s.pods:
        uid = pod["metadata"]["uid"]
        if uid not in with_finalizer:
            continue
        failed = util.is_pod_failed(pod, job)
        succeeded = util.phase(pod) == "Succeeded"
        if not (is_terminating(job) or s.finished is not None or succeeded or failed):
            continue
        to_release.append(pod)
        if succeeded and uid not in s.uncounted_failed:
            index = util.completion_index(pod)
            if util.is_indexed(job):
                if util.valid_index(pod, job) and index is not None and index not in s.prev_indexes:
                    new_indexes.add(index)
            elif uid not in s.uncounted_succeeded:
                uncounted.setdefault("succeeded", []).append(uid)
                changed = True
        elif (failed or failing) and uid not in s.uncounted_failed:
            if not util.is_indexed(job) or util.valid_index(pod, job):
                uncounted.setdefault("failed", []).append(uid)
                changed = True
        recorded = (
            len(new_indexes) + len(uncounted.get("succeeded") or []) + len(uncounted.get("failed") or [])
        )
        if recorded >= util.MAX_UNCOUNTED:
            break  # the rest next time: the status stays small
    if util.is_indexed(job):
        done = util.format_indexes(s.prev_indexes | new_indexes)
        changed |= done != (old_status.get("completedIndexes") or "")
        status["succeeded"] = len(s.prev_indexes | new_indexes)
        if done:
            status["completedIndexes"] = done
        else:
            status.pop("completedIndexes", None)
    return to_release, changed


def finish_conditions(job: Obj, s: Sync, stamp: str) -> tuple[Obj | None, bool]:
    """(the terminal condition to set once all is counted, whether the interim one was added to the status)."""
    final = s.finished
    if final is None:
        return None, False
    status = job["status"]
    failure = final["type"] == util.FAILURE_TARGET
    interim_type = util.FAILURE_TARGET if failure else util.SUCCESS_CRITERIA_MET
    added = False
    if not util.condition_true(job, interim_type):
        status.setdefault("conditions", []).append(
            {**final, "lastProbeTime": stamp, "lastTransitionTime": stamp}
        )
        added = True
    terminal = util.FAILED if failure else util.COMPLETE
    return util.new_condition(terminal, "True", final["reason"], final["message"], stamp), added


def all_counted(status: Obj) -> bool:
    """No pod left in uncountedTerminatedPods and none terminating: the Job may take its terminal condition."""
    uncounted = status.get("uncountedTerminatedPods") or {}
    return (
        not uncounted.get("succeeded")
        and not uncounted.get("failed")
        and not int(status.get("terminating") or 0)
    )


def _not_older(seen: str, written: str) -> bool:
    """Is resourceVersion `seen` the written one or a later one? (This apiserver's versions are increasing
    integers, etcd revisions or SQLite row versions; anything else is compared for equality.)"""
    if seen.isdigit() and written.isdigit():
        return int(seen) >= int(written)
    return seen == written


class StatusWrites:
    """The resourceVersion of each Job's last status write, until the informer has caught up with it (the
    status counterpart of pod creation expectations). A relist that skips the write's own event shows a later
    version, which counts; a version that never shows (the Job deleted meanwhile) stops holding the Job back
    after `ttl` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._written: dict[str, tuple[str, float]] = {}

    def wrote(self, key: str, resource_version: str) -> None:
        self._written[key] = (resource_version, self.clock())

    def wait(self, key: str, cached: Obj) -> float | None:
        """None when the cached Job shows the last write (or nothing is outstanding), else seconds to give up."""
        entry = self._written.get(key)
        if entry is None:
            return None
        written, stamp = entry
        left = self.ttl - (self.clock() - stamp)
        if _not_older(str((cached.get("metadata") or {}).get("resourceVersion") or ""), written) or left <= 0:
            del self._written[key]
            return None
        return left

    def forget(self, key: str) -> None:
        self._written.pop(key, None)
