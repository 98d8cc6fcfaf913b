"""CronJob decisions as pure functions of (CronJob, now): whether a Job is due and which scheduled time it is
for, what to say when none is, the Job to create, and which finished Jobs go beyond the history limits
(kubernetes/pkg/controller/cronjob, cronjob_controllerv2.go and utils.go).

Each scheduled time gets the Job `<cronjob>-<minutes since the epoch>`: the name is the lock that keeps a
restarted controller (or one whose caches are behind) from starting the same run twice.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from apimachinery import cron
from apimachinery.workloads import CRONJOB_SCHEDULED_TIMESTAMP
from controller_manager.podutil import Obj, controller_reference, get_condition, meta, parse_time

NEXT_SCHEDULE_DELTA = 0.1  # seconds past the scheduled time at which to look again
TOO_MANY_MISSED = 100


def spec(cj: Obj) -> Obj:
    return cj.get("spec") or {}


def job_name(cj: Obj, scheduled: datetime) -> str:
    return f"{meta(cj)['name']}-{int(scheduled.timestamp()) // 60}"


def finished_condition(job: Obj) -> str | None:
    """ "Complete" or "Failed" when the Job has finished, else None."""
    for ctype in ("Complete", "Failed"):
        cond = get_condition(job.get("status"), ctype)
        if cond and cond.get("status") == "True":
            return ctype
    return None


@dataclass
class Decision:
    """A Job to start for `scheduled` (None: nothing to start), events to record, and when to look again."""

    scheduled: datetime | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    requeue: float | None = None


def _earliest(cj: Obj, now: datetime, *, with_deadline: bool) -> datetime:
    status = cj.get("status") or {}
    earliest = (
        parse_time(status.get("lastScheduleTime")) or parse_time(meta(cj).get("creationTimestamp")) or now
    )
    deadline = spec(cj).get("startingDeadlineSeconds")
    if with_deadline and deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    return earliest


def _requeue(cj: Obj, schedule: cron.Schedule, zone: Any, now: datetime) -> float:
    """Seconds until just after the next activation after the most recent one (nextScheduleTimeDuration)."""
    earliest = _earliest(cj, now, with_deadline=False)
    recent, _ = cron.most_recent(schedule, earliest, now, zone)
    nxt = schedule.next((recent or earliest).astimezone(zone))
    return max((nxt - now).total_seconds(), 0.0) + NEXT_SCHEDULE_DELTA


def decide(cj: Obj, now: datetime) -> Decision:
    """What syncCronJob decides after the active list is up to date; `now` is an aware datetime."""
    d = Decision()
    zone_name = spec(cj).get("timeZone")
    try:
        zone = cron.time_zone(zone_name)
    except cron.ScheduleError as exc:
        d.events.append(("Warning", "UnknownTimeZone", f'invalid timeZone: "{zone_name}": {exc}'))
        return d
    if spec(cj).get("suspend"):
        return d
    try:
        schedule = cron.parse(str(spec(cj).get("schedule") or ""))
    except cron.ScheduleError as exc:
        d.events.append(
            ("Warning", "UnparseableSchedule", f'unparseable schedule: "{spec(cj).get("schedule")}" : {exc}')
        )
        return d
    scheduled, missed = cron.most_recent(schedule, _earliest(cj, now, with_deadline=True), now, zone)
    d.requeue = _requeue(cj, schedule, zone, now)
    if missed > TOO_MANY_MISSED:
        d.events.append(
            (
                "Warning",
                "TooManyMissedTimes",
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
            )
        )
    if scheduled is None:
        return d
    deadline = spec(cj).get("startingDeadlineSeconds")
    if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
        when = format_datetime(scheduled.astimezone(UTC))
        d.events.append(("Warning", "MissSchedule", f"Missed scheduled time to start a job: {when}"))
        return d
    status = cj.get("status") or {}
    name = job_name(cj, scheduled)
    if any(ref.get("name") == name for ref in status.get("active") or []) or parse_time(
        status.get("lastScheduleTime")
    ) == scheduled.astimezone(UTC):
        return d  # already started
    if spec(cj).get("concurrencyPolicy") == "Forbid" and status.get("active"):
        d.events.append(
            (
                "Normal",
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
        )
        return d
    d.scheduled = scheduled
    return d


def job_for(cj: Obj, scheduled: datetime) -> Obj:
    """The Job a CronJob starts for `scheduled`: its jobTemplate, named for the time, owned by the CronJob."""
    m = meta(cj)
    template = copy.deepcopy(spec(cj).get("jobTemplate") or {})
    tmeta = template.get("metadata") or {}
    zone = cron.time_zone(spec(cj).get("timeZone"))
    annotations = dict(tmeta.get("annotations") or {})
    annotations[CRONJOB_SCHEDULED_TIMESTAMP] = (
        scheduled.astimezone(zone).isoformat(timespec="seconds").replace("+00:00", "Z")
    )
    job_meta: Obj = {
        "name": job_name(cj, scheduled),
        "namespace": m.get("namespace"),
        "labels": dict(tmeta.get("labels") or {}),
        "annotations": annotations,
        "ownerReferences": [controller_reference(cj, "batch/v1", "CronJob")],
    }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta, "spec": template.get("spec") or {}}


def job_reference(job: Obj) -> Obj:
    m = meta(job)
    return {
        "kind": "Job",
        "namespace": m.get("namespace"),
        "name": m.get("name"),
        "uid": m.get("uid"),
        "apiVersion": "batch/v1",
        "resourceVersion": m.get("resourceVersion"),
    }


def history_to_delete(cj: Obj, jobs: list[Obj]) -> list[Obj]:
    """Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest (by start time) first."""
    out: list[Obj] = []
    for kind, key in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
        limit = spec(cj).get(key)
        if limit is None:
            continue
        done = [j for j in jobs if finished_condition(j) == kind]
        done.sort(key=_start_key)
        excess = len(done) - int(limit)
        out += done[: max(excess, 0)]
    return out


def _start_key(job: Obj) -> tuple[int, float, str]:
    started = parse_time((job.get("status") or {}).get("startTime"))
    # Jobs that never started sort after those that did, as Kubernetes' byJobStartTime does.
    return (0 if started else 1, started.timestamp() if started else 0.0, str(meta(job).get("name", "")))
