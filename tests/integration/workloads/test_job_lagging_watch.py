"""The Job controller against informers that lag: the apiserver writes each watch at most every 0.4 s
(--watch-flush-interval, and --watch-busy-events 0 so that every watch batches, however few its events), so the controller's caches show its own status writes and finalizer removals late, and
its Job and Pod caches lag by different amounts.

A controller that decided from such a cache would create a pod too many (a counted pod whose finalizer is gone,
seen beside a Job status from before it was counted, is counted nowhere) or count a pod twice. The tests finish
pods as fast as the controller creates them and assert exact numbers: as many pods created as completions, never
more, and `succeeded` never above completions nor going down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from apimachinery.client import Client
from apimachinery.workloads import JOB_COMPLETION_INDEX, JOB_NAME_LABEL, JOB_TRACKING_FINALIZER
from tests.background import Background
from tests.components import Component
from tests.harness import ApiServer, own_apiserver
from tests.integration.workloads.helpers import finish, job, pods_of, start_manager
from tests.polling import eventually
from tests.resources import JOBS

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]

FLUSH_INTERVAL = "0.4"  # seconds between two writes of a busy watch: informers lag by up to this much


@pytest.fixture(scope="module")
def cluster() -> Iterator[ApiServer]:
    with own_apiserver(["--watch-flush-interval", FLUSH_INTERVAL, "--watch-busy-events", "0"]) as server:
        yield server


@pytest.fixture(scope="module")
def lagging_manager(cluster: ApiServer) -> Iterator[Component]:
    m = start_manager(cluster)
    yield m
    m.assert_never_forbidden()
    m.cleanup()


class SucceededHistory(Background):
    """Every `status.succeeded` the Job had, in order, from a watch of it (the test's own, not lagging)."""

    def __init__(self, client: Client, ns: str, name: str) -> None:
        self.client, self.ns, self.name = client, ns, name
        self.values: list[int] = []

    async def _run(self) -> None:
        selector = f"metadata.name={self.name}"
        async for _etype, obj in self.client.watch(JOBS, self.ns, field_selector=selector):
            value = int((obj.get("status") or {}).get("succeeded") or 0)
            if not self.values or self.values[-1] != value:
                self.values.append(value)


async def run_to_completion(client: Client, ns: str, name: str) -> dict[str, Any]:
    """Finish (Succeeded) every live pod of the Job as soon as it exists, until the Job is Complete."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while loop.time() < deadline:
        current = await client.get(JOBS, name, ns)
        conditions = {c["type"]: c["status"] for c in (current.get("status") or {}).get("conditions") or []}
        if conditions.get("Complete") == "True":
            return current  # type: ignore[no-any-return]
        assert conditions.get("Failed") != "True", current["status"]
        for pod in await pods_of(client, ns, label=f"{JOB_NAME_LABEL}={name}", live=True):
            if pod["status"].get("phase") not in ("Succeeded", "Failed"):
                await finish(client, ns, pod["metadata"]["name"])
        await asyncio.sleep(0.05)  # the controller's turn; bounded by the deadline
    raise AssertionError(f"job {name} not Complete within 90 s")


async def assert_exact(
    client: Client, ns: str, name: str, completions: int, history: SucceededHistory
) -> None:
    done = await run_to_completion(client, ns, name)
    pods = await pods_of(client, ns, label=f"{JOB_NAME_LABEL}={name}")
    assert len(pods) == completions, [p["metadata"]["name"] for p in pods]
    assert all(p["status"]["phase"] == "Succeeded" for p in pods)
    status = done["status"]
    assert status["succeeded"] == completions and not status.get("failed")
    assert not status.get("uncountedTerminatedPods") and status["active"] == 0

    async def released():
        left = [
            p
            for p in await pods_of(client, ns, label=f"{JOB_NAME_LABEL}={name}")
            if JOB_TRACKING_FINALIZER in (p["metadata"].get("finalizers") or [])
        ]
        return not left or None

    await eventually(released, what="every tracking finalizer removed")
    await eventually(lambda: history.values[-1:] == [completions] or None, what="the watch saw the end")
    assert history.values == sorted(history.values), history.values  # never went down
    assert max(history.values) == completions, history.values  # never above completions


async def test_job_counts_exactly_with_lagging_informers(client, namespace, lagging_manager):
    for round_ in range(2):
        name = f"lag-{round_}"
        async with SucceededHistory(client, namespace, name) as history:
            await client.create(JOBS, job(name, completions=6, parallelism=3), namespace)
            await assert_exact(client, namespace, name, 6, history)


async def test_indexed_job_counts_exactly_with_lagging_informers(client, namespace, lagging_manager):
    async with SucceededHistory(client, namespace, "lag-indexed") as history:
        spec = job("lag-indexed", completions=5, parallelism=3, completionMode="Indexed")
        await client.create(JOBS, spec, namespace)
        await assert_exact(client, namespace, "lag-indexed", 5, history)
    pods = await pods_of(client, namespace, label=f"{JOB_NAME_LABEL}=lag-indexed")
    indexes = sorted(int(p["metadata"]["annotations"][JOB_COMPLETION_INDEX]) for p in pods)
    assert indexes == [0, 1, 2, 3, 4]
