"""The Job controller: runs pods until `completions` of them succeed, or the Job fails (backoffLimit,
activeDeadlineSeconds), counting every finished pod exactly once (Kubernetes' tracking with finalizers, see
`job_util`).

Informers on Jobs and Pods feed one queue; its keys are Jobs, plus `orphan-pod:<ns>/<name>` for a pod that still
has the tracking finalizer while its Job is gone or finished (the finalizer is removed so the pod can go).

A sync (Kubernetes' syncJob): claim the pods; count the finished ones not yet in the status; decide whether the
Job has failed (backoff limit, deadline) or succeeded; otherwise, when the expectations are met, create or delete
pods towards `parallelism` (respecting the pod-failure backoff; an Indexed Job creates its lowest missing indexes)
or delete all of them while suspended; then write the status in the order that keeps counting exact: uids into
`uncountedTerminatedPods`, finalizers off, counters up. The terminal condition (Complete / Failed) comes last,
after the interim SuccessCriteriaMet / FailureTarget, once no pod is left uncounted or terminating.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from apimachinery.errors import StatusError, ignore_not_found, is_not_found
from apimachinery.events import NORMAL, WARNING
from apimachinery.labels import from_label_selector
from apimachinery.workloads import JOB_TRACKING_FINALIZER
from controller_manager import job_tracking as tracking
from controller_manager import job_util as util
from controller_manager import replicaset_util
from controller_manager.base import JOBS, PODS, Context, Controller
from controller_manager.expectations import Expectations
from controller_manager.job_tracking import Sync
from controller_manager.ownership import claim_pods, create_in_batches
from controller_manager.podutil import (
    Obj,
    controller_ref,
    format_time,
    is_pod_ready,
    is_terminating,
    key_of,
    now,
    split_key,
)

log = logging.getLogger(__name__)

ORPHAN = "orphan-pod:"
REMOVE_FINALIZER = {"metadata": {"$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER]}}


def _with_tracking_finalizer(pod: Obj) -> Obj:
    """An adopted pod's finalizers: its own plus the Job tracking finalizer (once)."""
    finalizers = list(pod["metadata"].get("finalizers") or [])
    return {
        "finalizers": finalizers + ([] if JOB_TRACKING_FINALIZER in finalizers else [JOB_TRACKING_FINALIZER])
    }


class JobController(Controller):
    name = "job"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations(ttl=ctx.options.expectations_ttl)
        self.backoff: dict[str, util.Backoff] = {}
        # job key -> uids of pods whose finalizer we removed while the cache may still show it (Kubernetes'
        # finalizer expectations): counting such a pod again from a stale cache would count it twice.
        self.releasing: dict[str, set[str]] = {}
        self.status_writes = tracking.StatusWrites(ttl=ctx.options.expectations_ttl)
        self.backoff_base = ctx.options.job_pod_failure_backoff
        self.job_informer = ctx.factory.informer(JOBS)
        self.pod_informer = ctx.factory.informer(PODS)
        self.job_informer.add_handler(self._on_job, lambda _old, new: self._on_job(new), self._on_job_delete)
        self.pod_informer.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)

    # -- handlers -------------------------------------------------------------------------------------------

    def _on_job(self, job: Obj) -> None:
        self.enqueue(key_of(job))
        if util.is_finished(job):
            self._release_pods_of(job)  # a backup: the sync removes them before it marks the Job finished

    def _on_job_delete(self, job: Obj) -> None:
        self.expectations.delete(key_of(job))
        self.status_writes.forget(key_of(job))
        self.enqueue(key_of(job))
        self._release_pods_of(job)

    def _release_pods_of(self, job: Obj) -> None:
        uid = job["metadata"].get("uid")
        for pod in self.pod_informer.store.by_index("namespace", job["metadata"].get("namespace") or ""):
            if util.has_finalizer(pod) and (controller_ref(pod) or {}).get("uid") == uid:
                self.enqueue(ORPHAN + key_of(pod))

    def _job_of(self, pod: Obj) -> Obj | None:
        ref = controller_ref(pod)
        if not ref or ref.get("kind") != "Job":
            return None
        job = self.job_informer.store.get(f"{pod['metadata'].get('namespace')}/{ref.get('name')}")
        return job if job is not None and job["metadata"].get("uid") == ref.get("uid") else None

    def _tracked(self, key: str, pod: Obj) -> bool:
        """Has the tracking finalizer, as far as this controller knows (see `releasing`)."""
        return util.has_finalizer(pod) and pod["metadata"].get("uid") not in self.releasing.get(key, ())

    def _observed_release(self, key: str, pod: Obj, *, gone: bool = False) -> None:
        uids = self.releasing.get(key)
        if uids is not None and (gone or not util.has_finalizer(pod)):
            uids.discard(pod["metadata"].get("uid", ""))

    def _on_pod(self, pod: Obj) -> None:
        job = self._job_of(pod)
        if job is None:
            if util.has_finalizer(pod):
                self.enqueue(ORPHAN + key_of(pod))
            elif controller_ref(pod) is None:
                self._enqueue_matching(pod)
            return
        key = key_of(job)
        self._observed_release(key, pod)
        if util.is_finished(job):
            if util.has_finalizer(pod):
                self.enqueue(ORPHAN + key_of(pod))
            return
        if is_terminating(pod):
            self.expectations.deletion_observed(key, key_of(pod))
        self.enqueue(key)

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        old_job = self._job_of(old)
        if old_job is not None and old_job is not self._job_of(new):
            self.enqueue(key_of(old_job))
        self._on_pod(new)

    def _on_pod_add(self, pod: Obj) -> None:
        job = self._job_of(pod)
        if job is not None:
            self.expectations.creation_observed(key_of(job))
        self._on_pod(pod)

    def _on_pod_delete(self, pod: Obj) -> None:
        job = self._job_of(pod)
        if job is not None:
            self.expectations.deletion_observed(key_of(job), key_of(pod))
            self._observed_release(key_of(job), pod, gone=True)
            self.enqueue(key_of(job))

    def _enqueue_matching(self, pod: Obj) -> None:
        labels = pod["metadata"].get("labels") or {}
        for job in self.job_informer.store.by_index("namespace", pod["metadata"].get("namespace") or ""):
            try:
                if from_label_selector(util.spec(job).get("selector")).matches(labels):
                    self.enqueue(key_of(job))
            except ValueError:
                continue

    # -- orphans --------------------------------------------------------------------------------------------

    async def _release_orphan(self, pod_key: str) -> None:
        """Remove the tracking finalizer of a pod whose Job is gone or finished (it was counted, or never will be)."""
        pod = self.pod_informer.store.get(pod_key)
        if pod is None or not util.has_finalizer(pod):
            return
        ref = controller_ref(pod)
        if ref is not None and (ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1"):
            return  # someone else's pod: not ours to touch
        job = self._job_of(pod)
        if job is not None and not util.is_finished(job):
            return  # adopted meanwhile
        ns, name = split_key(pod_key)
        with ignore_not_found():
            await self.client.patch(PODS, name, REMOVE_FINALIZER, ns, patch_type="strategic")

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        if key.startswith(ORPHAN):
            await self._release_orphan(key.removeprefix(ORPHAN))
            return None
        cached = self.job_informer.store.get(key)
        if cached is None:
            self.expectations.delete(key)
            self.status_writes.forget(key)
            self.backoff.pop(key, None)
            self.releasing.pop(key, None)
            return None
        behind = self.status_writes.wait(key, cached)
        if behind is not None:
            return behind  # the cache predates our last status write: its update event brings the Job back
        job = {**copy.deepcopy(cached), "kind": "Job", "apiVersion": "batch/v1"}
        if util.is_finished(job):
            self.backoff.pop(key, None)
            return None
        if util.spec(job).get("completionMode") not in (None, "NonIndexed", "Indexed"):
            self.recorder.event(
                job, WARNING, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown"
            )
            return None
        try:
            selector = from_label_selector(util.spec(job).get("selector"))
        except ValueError as exc:
            log.warning("invalid selector", extra={"job": key, "error": str(exc)})
            return None
        status = job.setdefault("status", {})
        satisfied = self.expectations.satisfied(key)
        pods = await self._claim(job, selector.matches)
        at = now()
        stamp = format_time(at)
        s = self._count(job, pods)
        if not status.get("startTime") and not util.is_suspended(job):
            status["startTime"] = stamp
        requeue: float | None = None
        if s.finished is None:
            left = util.deadline_left(job, at)
            if s.failed > int(util.spec(job).get("backoffLimit") or 0) or util.restarts_past_limit(job, pods):
                s.finished = util.new_condition(
                    util.FAILURE_TARGET, "True", *util.BACKOFF_LIMIT_EXCEEDED, stamp
                )
            elif left is not None and left <= 0:
                s.finished = util.new_condition(util.FAILURE_TARGET, "True", *util.DEADLINE_EXCEEDED, stamp)
            elif left is not None:
                requeue = left
        active = len(s.active)
        suspend_changed = False
        if s.finished is not None and s.finished["type"] != util.SUCCESS_CRITERIA_MET:
            deleted = await self._delete_active(job, s.active)
            if deleted != active or not satisfied:
                s.finished = None  # wait until every pod is gone from the cache and counted
            active -= deleted
            s.terminating += deleted
        elif s.finished is None:
            managed = False
            if satisfied and not is_terminating(job):
                active, wait = await self._manage(key, job, s)
                requeue = min(filter(None, (requeue, wait)), default=None)
                managed = True
            completions = util.spec(job).get("completions")
            complete = (
                s.succeeded > 0 if completions is None else s.succeeded >= int(completions)
            ) and active == 0
            if complete:
                s.finished = util.new_condition(
                    util.SUCCESS_CRITERIA_MET, "True", *util.COMPLETIONS_REACHED, stamp
                )
            elif managed:
                suspend_changed = self._suspend_condition(job, status, stamp)
        status["active"] = active
        status["ready"] = s.ready
        status["terminating"] = s.terminating
        await self._track(job, s, cached, suspend_changed)
        return requeue

    def _count(self, job: Obj, pods: list[Obj]) -> Sync:
        status = job["status"]
        uncounted = status.get("uncountedTerminatedPods") or {}
        s = Sync(
            job,
            pods,
            [p for p in pods if util.is_active(p)],
            set(uncounted.get("succeeded") or []),
            set(uncounted.get("failed") or []),
        )
        s.ready = sum(1 for p in s.active if is_pod_ready(p))
        s.terminating = sum(
            1 for p in pods if is_terminating(p) and util.phase(p) not in ("Succeeded", "Failed")
        )

        def new(match: Any, skip: set[str]) -> list[Obj]:
            return [
                p
                for p in pods
                if self._tracked(key_of(job), p)
                and p["metadata"]["uid"] not in skip
                and (not util.is_indexed(job) or util.valid_index(p, job))
                and match(p)
            ]

        new_succeeded = new(lambda p: util.phase(p) == "Succeeded", s.uncounted_succeeded)
        new_failed = new(lambda p: util.is_pod_failed(p, job), s.uncounted_failed)
        s.succeeded = int(status.get("succeeded") or 0) + len(new_succeeded) + len(s.uncounted_succeeded)
        s.failed = int(status.get("failed") or 0) + len(new_failed) + len(s.uncounted_failed)
        if util.is_indexed(job):
            completions = int(util.spec(job).get("completions") or 0)
            s.prev_indexes = util.parse_indexes(status.get("completedIndexes"), completions)
            s.done_indexes = s.prev_indexes | {util.completion_index(p) or 0 for p in new_succeeded}
            s.succeeded = len(s.done_indexes)
        s.new_backoff = self.backoff.get(key_of(job), util.Backoff()).updated(new_succeeded, new_failed)
        if util.condition_true(job, util.SUCCESS_CRITERIA_MET):
            s.finished = util.new_condition(util.SUCCESS_CRITERIA_MET, "True", *util.COMPLETIONS_REACHED, "")
        else:
            target = next(
                (
                    c
                    for c in status.get("conditions") or []
                    if c.get("type") == util.FAILURE_TARGET and c.get("status") == "True"
                ),
                None,
            )
            if target is not None:
                s.finished = copy.deepcopy(target)
        return s

    def _suspend_condition(self, job: Obj, status: Obj, stamp: str) -> bool:
        if util.is_suspended(job):
            changed = util.ensure_condition(
                status, util.SUSPENDED, "True", "JobSuspended", "Job suspended", stamp
            )
            if changed:
                self.recorder.event(job, NORMAL, "Suspended", "Job suspended")
            return changed
        changed = util.ensure_condition(status, util.SUSPENDED, "False", "JobResumed", "Job resumed", stamp)
        if changed:
            self.recorder.event(job, NORMAL, "Resumed", "Job resumed")
            # activeDeadlineSeconds counts the time a Job is continuously active: it starts again on resume.
            status["startTime"] = stamp
        return changed

    async def _claim(self, job: Obj, matches: Any) -> list[Obj]:
        ns = job["metadata"]["namespace"]
        owned, adopt, release = replicaset_util.classify_pods(
            job, self.pod_informer.store.by_index("namespace", ns), matches
        )
        owned += await claim_pods(
            self.client, JOBS, job, adopt, release, adopt_metadata=_with_tracking_finalizer
        )
        return owned

    # -- pods -----------------------------------------------------------------------------------------------

    async def _manage(self, key: str, job: Obj, s: Sync) -> tuple[int, float | None]:
        """Create or delete pods towards parallelism (all of them while suspended); (active, seconds to wait)."""
        active = len(s.active)
        if util.is_suspended(job):
            victims = util.pods_for_removal(job, s.active, active)
            removed = await self._delete_pods(key, job, victims)
            s.terminating += removed
            s.ready -= sum(1 for p in victims if is_pod_ready(p))
            return active - removed, None
        want = util.wanted_active(job, active, s.succeeded)
        victims = util.pods_for_removal(job, s.active, max(0, active - want))[: util.MAX_POD_CHANGES_PER_SYNC]
        if victims:
            removed = await self._delete_pods(key, job, victims)
            s.terminating += removed
            return active - removed, None
        terminating = s.terminating if util.only_replace_failed(job) else 0
        diff = min(want - terminating - active, util.MAX_POD_CHANGES_PER_SYNC)
        if diff <= 0:
            return active, None
        wait = s.new_backoff.remaining(now(), self.backoff_base)
        if wait > 0:
            return active, wait
        indexes: list[int | None] = [None] * diff
        if util.is_indexed(job):
            completions = int(util.spec(job).get("completions") or 0)
            indexes = list(util.first_pending_indexes(s.active, s.done_indexes, diff, completions))
        created = await self._create_pods(key, job, indexes)
        return active + created, None

    async def _create_pods(self, key: str, job: Obj, indexes: list[int | None]) -> int:
        self.expectations.expect_creations(key, len(indexes))
        bodies = [util.new_pod(job, i) for i in indexes]
        created = await create_in_batches(self, self.expectations, key, job, bodies)
        if created.errors:
            raise created.errors[0]
        return created.count

    async def _delete_pods(self, key: str, job: Obj, pods: list[Obj]) -> int:
        """Remove the finalizer, then delete (surplus or suspended pods: they are not counted as failures)."""
        self.expectations.expect_deletions(key, [key_of(p) for p in pods])
        removed = 0
        for pod in pods:
            name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
            try:
                if util.has_finalizer(pod):
                    await self.client.patch(PODS, name, REMOVE_FINALIZER, ns, patch_type="strategic")
                await self.client.delete(PODS, name, ns)
                removed += 1
                self.recorder.event(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")
            except StatusError as err:
                self.expectations.deletion_observed(key, key_of(pod))
                if not is_not_found(err):
                    raise
        return removed

    async def _delete_active(self, job: Obj, pods: list[Obj]) -> int:
        """A failing Job's running pods: deleted with their finalizers kept, so they are counted as failed."""
        removed = 0
        for pod in pods:
            with ignore_not_found():
                await self.client.delete(PODS, pod["metadata"]["name"], pod["metadata"]["namespace"])
            removed += 1
        return removed

    # -- status ---------------------------------------------------------------------------------------------

    async def _track(self, job: Obj, s: Sync, cached: Obj, needs_flush: bool) -> None:
        """Record finished pods, remove their finalizers, count them, and finish the Job (Kubernetes'
        trackJobStatusAndRemoveFinalizers): see `job_tracking` for the decisions, here the writes in order."""
        status = job["status"]
        old = cached.get("status") or {}
        needs_flush = needs_flush or any(
            status.get(k) != old.get(k) for k in ("active", "ready", "terminating", "startTime")
        )
        key = key_of(job)
        with_finalizer = {p["metadata"]["uid"] for p in s.pods if self._tracked(key, p)}
        needs_flush |= tracking.count_uncounted(status, with_finalizer)
        to_release, recorded = tracking.record_finished(job, s, with_finalizer, old)
        stamp = format_time(now())
        final, interim = tracking.finish_conditions(job, s, stamp)
        if needs_flush or recorded or interim:
            job = await self._write_status(job)
            self.backoff[key] = s.new_backoff
        status = job["status"]
        released = await self._remove_finalizers(key, to_release)
        changed = tracking.count_uncounted(status, with_finalizer - released)
        if final is not None and tracking.all_counted(status):
            util.ensure_condition(status, final["type"], "True", final["reason"], final["message"], stamp)
            if final["type"] == util.COMPLETE:
                status["completionTime"] = stamp
                self.recorder.event(job, NORMAL, "Completed", "Job completed")
            else:
                self.recorder.event(job, WARNING, final["reason"], final["message"])
            changed = True
        if changed:
            await self._write_status(job)

    async def _remove_finalizers(self, key: str, pods: list[Obj]) -> set[str]:
        """The uids whose finalizer is now off (or whose pod is gone)."""
        releasing = self.releasing.setdefault(key, set())

        async def one(pod: Obj) -> str | None:
            releasing.add(str(pod["metadata"]["uid"]))
            try:
                await self.client.patch(
                    PODS,
                    pod["metadata"]["name"],
                    REMOVE_FINALIZER,
                    pod["metadata"]["namespace"],
                    patch_type="strategic",
                )
            except StatusError as err:
                if not is_not_found(err):
                    releasing.discard(str(pod["metadata"]["uid"]))  # nothing changed: count it as it is
                    log.warning(
                        "removing the tracking finalizer failed",
                        extra={"pod": key_of(pod), "error": err.message},
                    )
                    return None
            return str(pod["metadata"]["uid"])

        results = await asyncio.gather(*(one(p) for p in pods))
        return {uid for uid in results if uid}

    async def _write_status(self, job: Obj) -> Obj:
        status = job["status"]
        uncounted = status.get("uncountedTerminatedPods") or {}
        status["uncountedTerminatedPods"] = {k: v for k, v in uncounted.items() if v}
        updated = await self.client.update(JOBS, job, job["metadata"]["namespace"], subresource="status")
        self.status_writes.wrote(key_of(updated), str(updated["metadata"]["resourceVersion"]))
        return {**updated, "kind": "Job", "apiVersion": "batch/v1"}
