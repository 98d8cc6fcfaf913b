"""CronJob schedule decisions with a fixed clock: due times, macros, time zones, missed runs, startingDeadlineSeconds,
concurrency policies, job names, and history limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apimachinery import cron
from apimachinery.workloads import CRONJOB_SCHEDULED_TIMESTAMP
from controller_manager import cronjob_util as util

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)  # a Monday, on the hour


def cj(schedule="* * * * *", created=T0 - timedelta(hours=1), status=None, **spec):
    return {
        "metadata": {
            "name": "backup",
            "namespace": "ns",
            "uid": "cj-uid",
            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Allow",
            "jobTemplate": {"metadata": {"labels": {"a": "b"}}, "spec": {"template": {}}},
            **spec,
        },
        "status": status or {},
    }


def stamp(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_parse_accepts_what_kubernetes_accepts():
    for good in [
        "* * * * *",
        "*/5 1-3 * JAN-MAR MON-FRI",
        "0 0 ? * *",
        "@hourly",
        "@daily",
        "@midnight",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@every 1h30m",
    ]:
        cron.parse(good)
    for bad, why in [
        ("", "empty spec string"),
        ("* * * *", "expected exactly 5 fields"),
        ("0 * * * * *", "expected exactly 5 fields"),
        ("61 * * * *", "invalid schedule"),
        ("@often", "unrecognized descriptor"),
        ("TZ=UTC * * * * *", "use timeZone field instead"),
        ("@every 10x", "failed to parse duration"),
    ]:
        with pytest.raises(cron.ScheduleError, match=why):
            cron.parse(bad)


def test_time_zones():
    assert cron.time_zone(None) is UTC
    assert cron.time_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    for bad in ["Mars/Olympus", "../etc/passwd", "/etc/localtime", "Local"]:
        with pytest.raises(cron.ScheduleError):
            cron.time_zone(bad)


def test_most_recent_counts_missed_runs():
    every_minute = cron.parse("* * * * *")
    last, missed = cron.most_recent(every_minute, T0 - timedelta(minutes=5), T0 + timedelta(seconds=30), UTC)
    assert (last, missed) == (T0, 5)
    assert cron.most_recent(every_minute, T0, T0 + timedelta(seconds=59), UTC) == (None, 0)
    # A long outage: the count stops past the limit, the latest time is still found.
    last, missed = cron.most_recent(every_minute, T0 - timedelta(days=3), T0 + timedelta(seconds=1), UTC)
    assert last == T0 and missed > util.TOO_MANY_MISSED
    every = cron.parse("@every 90s")
    assert cron.most_recent(every, T0, T0 + timedelta(seconds=200), UTC) == (T0 + timedelta(seconds=180), 2)


def test_due_job_and_its_name():
    d = util.decide(cj(), T0 + timedelta(seconds=5))
    assert d.scheduled == T0 and d.events == []
    assert d.requeue == pytest.approx(55.1)
    job = util.job_for(cj(), T0)
    assert job["metadata"]["name"] == f"backup-{int(T0.timestamp()) // 60}"
    assert job["metadata"]["annotations"][CRONJOB_SCHEDULED_TIMESTAMP] == "2026-03-02T10:00:00Z"
    assert job["metadata"]["labels"] == {"a": "b"}
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"


def test_already_started_or_not_yet_due():
    started = cj(status={"lastScheduleTime": stamp(T0)})
    assert util.decide(started, T0 + timedelta(seconds=30)).scheduled is None
    name = util.job_name(cj(), T0)
    active = cj(status={"active": [{"name": name, "uid": "x"}]})
    assert util.decide(active, T0 + timedelta(seconds=1)).scheduled is None
    fresh = cj(created=T0 + timedelta(seconds=10))
    d = util.decide(fresh, T0 + timedelta(seconds=20))
    assert d.scheduled is None and d.requeue == pytest.approx(40.1)


def test_hourly_macro_and_time_zone():
    berlin = cj("@daily", timeZone="Europe/Berlin", created=T0 - timedelta(days=2))
    d = util.decide(berlin, T0)
    assert d.scheduled == datetime(2026, 3, 2, 0, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert (
        util.job_for(berlin, d.scheduled)["metadata"]["annotations"][CRONJOB_SCHEDULED_TIMESTAMP]
        == "2026-03-02T00:00:00+01:00"
    )
    hourly = cj("@hourly", created=T0 - timedelta(minutes=30))
    assert util.decide(hourly, T0 + timedelta(minutes=5)).scheduled == T0
    bad = cj(timeZone="Nowhere/City")
    assert [e[1] for e in util.decide(bad, T0).events] == ["UnknownTimeZone"]


def test_starting_deadline():
    late = cj(startingDeadlineSeconds=10, status={"lastScheduleTime": stamp(T0 - timedelta(minutes=1))})
    d = util.decide(late, T0 + timedelta(seconds=30))
    assert d.scheduled is None
    # Past the deadline for T0, and the window [now-10s, now] holds no activation: nothing at all.
    assert d.events == []
    in_time = util.decide(late, T0 + timedelta(seconds=5))
    assert in_time.scheduled == T0
    # The deadline keeps a long-missed schedule from counting hundreds of misses.
    old = cj(startingDeadlineSeconds=120, created=T0 - timedelta(days=10))
    assert util.decide(old, T0 + timedelta(seconds=1)).events == []


def test_too_many_missed():
    old = cj(created=T0 - timedelta(days=1))
    d = util.decide(old, T0 + timedelta(seconds=1))
    assert d.scheduled == T0
    assert [e[1] for e in d.events] == ["TooManyMissedTimes"]


def test_concurrency_policies_and_suspend():
    running = {
        "active": [{"name": "backup-1", "uid": "u1"}],
        "lastScheduleTime": stamp(T0 - timedelta(minutes=1)),
    }
    forbid = util.decide(cj(concurrencyPolicy="Forbid", status=running), T0 + timedelta(seconds=1))
    assert forbid.scheduled is None and [e[1] for e in forbid.events] == ["JobAlreadyActive"]
    for policy in ("Allow", "Replace"):  # Replace: the controller deletes the running Job, then starts
        assert (
            util.decide(cj(concurrencyPolicy=policy, status=running), T0 + timedelta(seconds=1)).scheduled
            == T0
        )
    assert util.decide(cj(suspend=True), T0 + timedelta(seconds=1)).scheduled is None
    assert [e[1] for e in util.decide(cj("nonsense"), T0).events] == ["UnparseableSchedule"]


def test_history_limits():
    def job(name, kind, start):
        cond = [{"type": kind, "status": "True"}] if kind else []
        return {"metadata": {"name": name}, "status": {"startTime": start, "conditions": cond}}

    jobs = [
        job("s1", "Complete", "2026-01-01T00:01:00Z"),
        job("s2", "Complete", "2026-01-01T00:02:00Z"),
        job("s3", "Complete", "2026-01-01T00:03:00Z"),
        job("s4", "Complete", "2026-01-01T00:04:00Z"),
        job("f1", "Failed", "2026-01-01T00:01:30Z"),
        job("f2", "Failed", "2026-01-01T00:02:30Z"),
        job("running", None, "2026-01-01T00:05:00Z"),
    ]
    victims = util.history_to_delete(cj(successfulJobsHistoryLimit=3, failedJobsHistoryLimit=1), jobs)
    assert [j["metadata"]["name"] for j in victims] == ["s1", "f1"]
    assert (
        util.history_to_delete(cj(successfulJobsHistoryLimit=0, failedJobsHistoryLimit=5), jobs)[-1][
            "metadata"
        ]["name"]
        == "s4"
    )
