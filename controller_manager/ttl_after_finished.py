"""The TTL-after-finished controller: deletes a finished Job `spec.ttlSecondsAfterFinished` seconds after it
finished (Kubernetes' ttlafterfinished controller), with Foreground propagation so that its pods go first.

It only deletes after a fresh read confirms that the Job is still finished, still has the TTL, and has expired
(the cache may be behind a user who just changed the TTL); the delete carries the uid as a precondition.
"""

from __future__ import annotations

import copy
from datetime import datetime

from apimachinery.errors import StatusError, is_conflict, is_not_found
from controller_manager.base import JOBS, Context, Controller
from controller_manager.podutil import Obj, get_condition, is_terminating, key_of, now, parse_time, split_key


def finish_time(job: Obj) -> datetime | None:
    """When the Job finished: the lastTransitionTime of its Complete or Failed condition."""
    for ctype in ("Complete", "Failed"):
        cond = get_condition(job.get("status"), ctype)
        if cond and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


def seconds_left(job: Obj, at: datetime) -> float | None:
    """Seconds until the Job expires (<= 0: expired); None if it has no TTL or has not finished."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    finished = finish_time(job)
    if ttl is None or finished is None or is_terminating(job):
        return None
    return float(ttl) - (at - finished).total_seconds()


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.job_informer = self.watch(JOBS, self._on_job, on_delete=None)

    def _on_job(self, job: Obj) -> None:
        if (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None and finish_time(
            job
        ) is not None:
            self.enqueue(key_of(job))

    async def reconcile(self, key: str) -> float | None:
        cached = self.job_informer.store.get(key)
        if cached is None:
            return None
        left = seconds_left(cached, now())
        if left is None:
            return None
        if left > 0:
            return left
        ns, name = split_key(key)
        try:
            fresh = await self.client.get(JOBS, name, ns)
        except StatusError as err:
            if is_not_found(err):
                return None
            raise
        left = seconds_left(copy.deepcopy(fresh), now())
        if left is None:
            return None
        if left > 0:
            return left
        try:
            await self.client.delete(
                JOBS,
                name,
                ns,
                propagation_policy="Foreground",
                preconditions={"uid": fresh["metadata"]["uid"]},
            )
        except StatusError as err:
            if not (is_not_found(err) or is_conflict(err)):
                raise
        return None
