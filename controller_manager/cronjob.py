"""The CronJob controller: starts a Job at each scheduled time, as concurrencyPolicy allows, keeps the active list
and lastScheduleTime / lastSuccessfulTime, and deletes finished Jobs beyond the history limits.

Informers on CronJobs and Jobs feed one queue of CronJob keys. `reconcile` brings the active list in line with the
Jobs that exist (Kubernetes' syncCronJob), asks `cronjob_util.decide` whether a run is due, starts it (replacing
the running ones for Replace), writes the status, cleans up history, and returns the time until the next
scheduled time so that the queue wakes it then: no polling.
"""

from __future__ import annotations

import copy
import logging

from apimachinery.errors import StatusError, ignore_not_found, is_already_exists, is_not_found
from apimachinery.events import NORMAL, WARNING
from apimachinery.resources import must_resource
from apimachinery.timefmt import format_time
from controller_manager import cronjob_util as util
from controller_manager.base import JOBS, Context, Controller, working_copy
from controller_manager.ownership import namespace_terminating
from controller_manager.podutil import Obj, controller_ref, is_terminating, now, parse_time, split_key

log = logging.getLogger(__name__)

CRONJOBS = must_resource("batch", "cronjobs")


class CronJobController(Controller):
    name = "cronjob"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.cj_informer = self.watch(CRONJOBS, self.enqueue_object)
        self.job_informer = self.watch_owned(JOBS, self.cj_informer)

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        cj = working_copy(self.cj_informer, key)
        if cj is None:
            return None
        ns, _ = split_key(key)
        uid = cj["metadata"]["uid"]
        jobs = [
            j
            for j in self.job_informer.store.by_index("namespace", ns or "")
            if (controller_ref(j) or {}).get("uid") == uid
        ]
        status = cj.setdefault("status", {})
        before = copy.deepcopy(status)
        await self._sync_active(cj, jobs)
        requeue: float | None = None
        if not is_terminating(cj):
            requeue = await self._run_if_due(cj)
        for job in util.history_to_delete(cj, jobs):
            await self._delete_job(cj, job)
        if status != before:
            await self._write_status(cj)
        return requeue

    async def _sync_active(self, cj: Obj, jobs: list[Obj]) -> None:
        """The active list names exactly the unfinished Jobs; lastSuccessfulTime follows completed ones."""
        status = cj["status"]
        active = status.setdefault("active", [])
        for job in jobs:
            uid = job["metadata"]["uid"]
            listed = any(ref.get("uid") == uid for ref in active)
            done = util.finished_condition(job)
            if not listed and done is None:
                fresh = await self.client.get(CRONJOBS, cj["metadata"]["name"], cj["metadata"]["namespace"])
                if not any(r.get("uid") == uid for r in (fresh.get("status") or {}).get("active") or []):
                    self.recorder.event(
                        cj,
                        WARNING,
                        "UnexpectedJob",
                        f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}",
                    )
            elif listed and done is not None:
                active[:] = [ref for ref in active if ref.get("uid") != uid]
                self.recorder.event(
                    cj,
                    NORMAL,
                    "SawCompletedJob",
                    f"Saw completed job: {job['metadata']['name']}, condition: {done}",
                )
            if done == "Complete":
                completed = (job.get("status") or {}).get("completionTime")
                last = parse_time(status.get("lastSuccessfulTime"))
                if completed and (last is None or (parse_time(completed) or last) > last):
                    status["lastSuccessfulTime"] = completed
        known = {j["metadata"]["uid"] for j in jobs}
        for ref in list(active):
            if ref.get("uid") in known:
                continue
            try:
                await self.client.get(JOBS, ref.get("name", ""), ref.get("namespace"))
            except StatusError as err:
                if not is_not_found(err):
                    raise
                self.recorder.event(cj, NORMAL, "MissingJob", f"Active job went missing: {ref.get('name')}")
                active.remove(ref)
        if not active:
            status.pop("active")

    async def _run_if_due(self, cj: Obj) -> float | None:
        decision = util.decide(cj, now())
        for type_, reason, message in decision.events:
            self.recorder.event(cj, type_, reason, message)
        if decision.scheduled is None:
            return decision.requeue
        status = cj["status"]
        if util.spec(cj).get("concurrencyPolicy") == "Replace":
            for ref in list(status.get("active") or []):
                try:
                    job = await self.client.get(JOBS, ref.get("name", ""), ref.get("namespace"))
                except StatusError as err:
                    if not is_not_found(err):
                        raise
                    continue
                await self._delete_job(cj, job)
        body = util.job_for(cj, decision.scheduled)
        try:
            job = await self.client.create(JOBS, body, cj["metadata"]["namespace"])
            self.recorder.event(cj, NORMAL, "SuccessfulCreate", f"Created job {job['metadata']['name']}")
        except StatusError as err:
            if namespace_terminating(err):
                return None
            if not is_already_exists(err):
                self.recorder.event(cj, WARNING, "FailedCreate", f"Error creating job: {err.message}")
                raise
            # Created before (a restart or a lost status write): take it into the active list if it is ours.
            job = await self.client.get(JOBS, body["metadata"]["name"], cj["metadata"]["namespace"])
            if (controller_ref(job) or {}).get("uid") != cj["metadata"]["uid"]:
                return decision.requeue
            if any(ref.get("uid") == job["metadata"]["uid"] for ref in status.get("active") or []):
                return decision.requeue
        status.setdefault("active", []).append(util.job_reference(job))
        status["lastScheduleTime"] = format_time(decision.scheduled)
        return decision.requeue

    async def _delete_job(self, cj: Obj, job: Obj) -> None:
        name = job["metadata"]["name"]
        try:
            await self.client.delete(
                JOBS, name, job["metadata"]["namespace"], propagation_policy="Background"
            )
        except StatusError as err:
            if not is_not_found(err):
                self.recorder.event(cj, WARNING, "FailedDelete", f"Deleted job: {err.message}")
                raise
        status = cj["status"]
        if status.get("active"):
            status["active"] = [r for r in status["active"] if r.get("uid") != job["metadata"].get("uid")]
            if not status["active"]:
                status.pop("active")
        self.recorder.event(cj, NORMAL, "SuccessfulDelete", f"Deleted job {name}")

    async def _write_status(self, cj: Obj) -> None:
        with ignore_not_found():
            await self.client.update(CRONJOBS, cj, cj["metadata"]["namespace"], subresource="status")
