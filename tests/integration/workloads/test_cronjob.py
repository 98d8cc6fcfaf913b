"""The CronJob controller against a real apiserver and a real clock: `* * * * *` starts a Job within a minute,
the Job's completion shows in lastSuccessfulTime, and a suspended CronJob starts nothing. The schedule decisions
(concurrency policies, missed runs, deadlines, time zones) are unit-tested with a clock in
tests/unit/controller_manager/test_cronjob_util.py."""

from __future__ import annotations

from datetime import datetime

import pytest

from apimachinery.workloads import CRONJOB_SCHEDULED_TIMESTAMP
from tests import factories
from tests.integration.workloads.helpers import event_reasons, finish, pods_of
from tests.polling import eventually
from tests.resources import CRONJOBS, JOBS

pytestmark = [pytest.mark.etcd, pytest.mark.slow, pytest.mark.timeout(150)]


def cronjob(name, schedule="* * * * *", **spec):
    runs = factories.job(name, [factories.container("c", "busybox:1")])["spec"]
    return factories.cronjob(name, schedule, runs, job_labels={"cron": name}, **spec)


async def test_every_minute_fires_within_a_minute(client, namespace, manager):
    cj = await client.create(CRONJOBS, cronjob("tick"), namespace)
    await client.create(CRONJOBS, cronjob("paused", suspend=True), namespace)

    async def started():
        jobs = [
            j
            for j in (await client.list(JOBS, namespace))["items"]
            if j["metadata"]["name"].startswith("tick-")
        ]
        return jobs[0] if jobs else None

    j = await eventually(started, timeout=75, interval=0.5, what="a Job within a minute")
    name = j["metadata"]["name"]
    minutes = int(name.removeprefix("tick-"))
    assert j["metadata"]["annotations"][CRONJOB_SCHEDULED_TIMESTAMP].endswith(":00Z")
    ref = j["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"]) == ("CronJob", cj["metadata"]["uid"], True)
    assert j["metadata"]["labels"]["cron"] == "tick"

    async def active():
        s = (await client.get(CRONJOBS, "tick", namespace)).get("status") or {}
        return s if [a["name"] for a in s.get("active") or []] == [name] else None

    status = await eventually(active, what="the Job in the active list")
    assert status["lastScheduleTime"].endswith(":00Z")
    scheduled = datetime.fromisoformat(status["lastScheduleTime"].replace("Z", "+00:00"))
    assert int(scheduled.timestamp()) // 60 == minutes
    # The Job's pod finishes: the Job completes and the CronJob notices.
    pods = await eventually(
        lambda: pods_of(client, namespace, label=f"batch.kubernetes.io/job-name={name}"), what="the Job's pod"
    )
    await finish(client, namespace, pods[0]["metadata"]["name"])

    async def succeeded():
        s = (await client.get(CRONJOBS, "tick", namespace)).get("status") or {}
        return s if s.get("lastSuccessfulTime") and not s.get("active") else None

    await eventually(succeeded, timeout=30, what="lastSuccessfulTime, active list empty")
    reasons = await event_reasons(client, namespace)
    assert "SuccessfulCreate" in reasons and "SawCompletedJob" in reasons
    paused_jobs = [
        j
        for j in (await client.list(JOBS, namespace))["items"]
        if j["metadata"]["name"].startswith("paused-")
    ]
    assert paused_jobs == []
