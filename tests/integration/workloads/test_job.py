"""The Job controller against a real apiserver: completions and parallelism, backoffLimit, Indexed Jobs,
activeDeadlineSeconds, suspend, the tracking finalizer, and ttlSecondsAfterFinished.

Pods are finished by `finish()` (the kubelet's report); the same on Docker is in the e2e suite.
"""

from __future__ import annotations

import asyncio

import pytest

from apimachinery.workloads import (
    CONTROLLER_UID_LABEL,
    JOB_COMPLETION_INDEX,
    JOB_NAME_LABEL,
    JOB_TRACKING_FINALIZER,
)
from tests.integration.workloads.helpers import event_reasons, finish, get_or_none, job, pods_of
from tests.polling import eventually
from tests.resources import JOBS, PODS

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(90)]


def conditions(j):
    return {
        c["type"]: (c["status"], c.get("reason")) for c in (j.get("status") or {}).get("conditions") or []
    }


async def live_pods(client, ns, name):
    return [
        p
        for p in await pods_of(client, ns, label=f"{JOB_NAME_LABEL}={name}")
        if p["status"].get("phase") not in ("Succeeded", "Failed")
        and not p["metadata"].get("deletionTimestamp")
    ]


async def wait_live(client, ns, name, count):
    async def check():
        pods = await live_pods(client, ns, name)
        return pods if len(pods) == count else None

    return await eventually(check, what=f"{count} running pods of job {name}")


async def test_job_completes_with_parallelism(client, namespace, manager):
    created = await client.create(JOBS, job("pi", completions=3, parallelism=2), namespace)
    uid = created["metadata"]["uid"]
    assert created["spec"]["selector"] == {"matchLabels": {CONTROLLER_UID_LABEL: uid}}
    labels = created["spec"]["template"]["metadata"]["labels"]
    assert labels[JOB_NAME_LABEL] == "pi" and labels["job-name"] == "pi" and labels["controller-uid"] == uid
    finished = 0
    while finished < 3:
        pods = await wait_live(client, namespace, "pi", min(2, 3 - finished))
        for pod in pods:
            assert JOB_TRACKING_FINALIZER in pod["metadata"]["finalizers"]
            ref = pod["metadata"]["ownerReferences"][0]
            assert (ref["kind"], ref["uid"], ref["controller"]) == ("Job", uid, True)
        await finish(client, namespace, pods[0]["metadata"]["name"])
        finished += 1

    async def complete():
        j = await client.get(JOBS, "pi", namespace)
        return j if conditions(j).get("Complete") == ("True", "CompletionsReached") else None

    j = await eventually(complete, what="Complete")
    status = j["status"]
    assert status["succeeded"] == 3 and status.get("failed", 0) == 0 and status["active"] == 0
    assert conditions(j)["SuccessCriteriaMet"] == ("True", "CompletionsReached")
    assert status["completionTime"] and status["startTime"]
    assert not status.get("uncountedTerminatedPods")
    pods = await pods_of(client, namespace, label=f"{JOB_NAME_LABEL}=pi")
    assert len(pods) == 3 and all(
        JOB_TRACKING_FINALIZER not in (p["metadata"].get("finalizers") or []) for p in pods
    )
    assert "Completed" in await event_reasons(client, namespace)


async def test_backoff_limit_fails_the_job(client, namespace, manager):
    await client.create(JOBS, job("fails", backoffLimit=2), namespace)
    for _attempt in range(3):
        (pod,) = await wait_live(client, namespace, "fails", 1)
        await finish(client, namespace, pod["metadata"]["name"], "Failed")

    async def failed():
        j = await client.get(JOBS, "fails", namespace)
        return j if conditions(j).get("Failed") == ("True", "BackoffLimitExceeded") else None

    j = await eventually(failed, timeout=30, what="Failed: BackoffLimitExceeded")
    assert j["status"]["failed"] == 3 and j["status"].get("succeeded", 0) == 0
    assert conditions(j)["FailureTarget"] == ("True", "BackoffLimitExceeded")
    assert not any(c["type"] == "Complete" for c in j["status"]["conditions"])
    msg = next(c["message"] for c in j["status"]["conditions"] if c["type"] == "Failed")
    assert msg == "Job has reached the specified backoff limit"
    pods = await pods_of(client, namespace, label=f"{JOB_NAME_LABEL}=fails")
    assert len(pods) == 3  # exactly one pod per try: no replacement after the limit
    assert "BackoffLimitExceeded" in await event_reasons(client, namespace)


async def test_indexed_job(client, namespace, manager):
    await client.create(JOBS, job("idx", completions=4, parallelism=2, completionMode="Indexed"), namespace)
    pods = await wait_live(client, namespace, "idx", 2)
    indexes = sorted(int(p["metadata"]["annotations"][JOB_COMPLETION_INDEX]) for p in pods)
    assert indexes == [0, 1]
    for pod in pods:
        index = pod["metadata"]["annotations"][JOB_COMPLETION_INDEX]
        assert pod["metadata"]["labels"][JOB_COMPLETION_INDEX] == index
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        assert pod["spec"]["hostname"] == f"idx-{index}"
        env = pod["spec"]["containers"][0]["env"]
        assert {
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {
                "fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.labels['{JOB_COMPLETION_INDEX}']"}
            },
        } in env
    # Index 1 fails, index 0 succeeds: the replacement runs index 1 again, the next free one is 2.
    by_index = {p["metadata"]["annotations"][JOB_COMPLETION_INDEX]: p["metadata"]["name"] for p in pods}
    await finish(client, namespace, by_index["0"])
    await finish(client, namespace, by_index["1"], "Failed")

    async def next_round():
        live = await live_pods(client, namespace, "idx")
        got = sorted(p["metadata"]["annotations"][JOB_COMPLETION_INDEX] for p in live)
        return live if got == ["1", "2"] else None

    live = await eventually(next_round, what="indexes 1 and 2 running")
    j = await client.get(JOBS, "idx", namespace)
    assert j["status"].get("completedIndexes") == "0"
    for pod in live:
        await finish(client, namespace, pod["metadata"]["name"])
    (last,) = await wait_live(client, namespace, "idx", 1)
    assert last["metadata"]["annotations"][JOB_COMPLETION_INDEX] == "3"
    await finish(client, namespace, last["metadata"]["name"])

    async def complete():
        j = await client.get(JOBS, "idx", namespace)
        return j if conditions(j).get("Complete", ("",))[0] == "True" else None

    j = await eventually(complete, what="Complete")
    assert (
        j["status"]["completedIndexes"] == "0-3"
        and j["status"]["succeeded"] == 4
        and j["status"]["failed"] == 1
    )


async def test_active_deadline(client, namespace, manager):
    await client.create(JOBS, job("slow", activeDeadlineSeconds=2, parallelism=2, completions=2), namespace)
    await wait_live(client, namespace, "slow", 2)

    async def failed():
        j = await client.get(JOBS, "slow", namespace)
        return j if conditions(j).get("Failed") == ("True", "DeadlineExceeded") else None

    j = await eventually(failed, timeout=30, what="Failed: DeadlineExceeded")
    assert j["status"]["active"] == 0 and j["status"]["failed"] == 2
    # The running pods were deleted, and their finalizers removed so that they could go.
    assert await eventually(lambda: _none_left(client, namespace, "slow"), what="pods gone")


async def _none_left(client, ns, name):
    return not await pods_of(client, ns, label=f"{JOB_NAME_LABEL}={name}")


async def test_suspend_and_resume(client, namespace, manager):
    await client.create(JOBS, job("later", suspend=True), namespace)

    async def suspended():
        j = await client.get(JOBS, "later", namespace)
        return j if conditions(j).get("Suspended") == ("True", "JobSuspended") else None

    j = await eventually(suspended, what="Suspended")
    assert not j["status"].get("startTime") and not await pods_of(client, namespace)
    await client.patch(JOBS, "later", {"spec": {"suspend": False}}, namespace)
    await wait_live(client, namespace, "later", 1)

    async def resumed():
        # The controller creates the pod before it writes the Job's status: wait for the status too.
        j = await client.get(JOBS, "later", namespace)
        return j if conditions(j).get("Suspended") == ("False", "JobResumed") else None

    j = await eventually(resumed, what="Suspended=False JobResumed")
    assert j["status"]["startTime"]
    await client.patch(JOBS, "later", {"spec": {"suspend": True}}, namespace)
    await eventually(lambda: _none_left(client, namespace, "later"), what="the pod deleted on suspend")

    async def recorded():
        # The controller deletes the pod, then writes the status (as Kubernetes' does): wait for the write.
        j = await client.get(JOBS, "later", namespace)
        return j if j["status"]["active"] == 0 else None

    j = await eventually(recorded, what="status.active 0 after suspend")
    assert j["status"].get("failed", 0) == 0  # suspending is not failing


async def test_ttl_after_finished_deletes_the_job_and_its_pods(client, namespace, manager):
    await client.create(JOBS, job("short", ttlSecondsAfterFinished=1), namespace)
    (pod,) = await wait_live(client, namespace, "short", 1)
    await finish(client, namespace, pod["metadata"]["name"])

    async def gone():
        return await get_or_none(client, JOBS, "short", namespace) is None and await _none_left(
            client, namespace, "short"
        )

    await eventually(gone, timeout=30, what="job and pod deleted after its TTL")


async def test_deleted_job_releases_its_pods(client, namespace, manager):
    await client.create(JOBS, job("gone", parallelism=2, completions=2), namespace)
    pods = await wait_live(client, namespace, "gone", 2)
    await client.delete(JOBS, "gone", namespace, propagation_policy="Background")

    async def collected():
        for pod in pods:
            if await get_or_none(client, PODS, pod["metadata"]["name"], namespace) is not None:
                return False
        return True

    # The garbage collector deletes them; the Job controller removes the finalizer that would keep them.
    await eventually(collected, timeout=30, what="pods of the deleted job gone")


async def test_many_pods_finishing_at_once_are_counted_once(client, namespace, manager):
    await client.create(JOBS, job("burst", completions=20, parallelism=20), namespace)
    pods = await wait_live(client, namespace, "burst", 20)
    seen: list[int] = []

    async def watch_counts():
        async for _etype, j in client.watch(JOBS, namespace, field_selector="metadata.name=burst"):
            seen.append(int((j.get("status") or {}).get("succeeded") or 0))

    watcher = asyncio.create_task(watch_counts())
    try:
        await asyncio.gather(*(finish(client, namespace, p["metadata"]["name"]) for p in pods))

        async def complete():
            j = await client.get(JOBS, "burst", namespace)
            return j if conditions(j).get("Complete", ("",))[0] == "True" else None

        j = await eventually(complete, timeout=40, what="Complete")
        # A watch may deliver an event a little after a GET shows it (a busy watch writes every 50 ms).
        await eventually(lambda: seen[-1:] == [20] or None, what="the watch saw succeeded=20")
    finally:
        watcher.cancel()
    assert j["status"]["succeeded"] == 20 and j["status"].get("failed", 0) == 0
    assert seen and max(seen) == 20  # never counted past the number of pods
