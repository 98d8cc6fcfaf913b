"""Leader election on a real Lease: one leader at a time, takeover on release, on expiry, and loss on failure."""

from __future__ import annotations

import asyncio
import time

import pytest

from apimachinery.client import Client
from apimachinery.leaderelection import LeaderElector
from tests.harness import ApiServer
from tests.integration.client.helpers import unique
from tests.resources import LEASES

pytestmark = pytest.mark.etcd

# Short, test-sized timings (leaseDurationSeconds is whole seconds on the wire).
FAST = {"lease_duration": 2, "renew_deadline": 1.5, "retry_period": 0.2}


class Candidate:
    def __init__(self, client: Client, namespace: str, lease: str, identity: str, **kwargs: object) -> None:
        self.elector = LeaderElector(client, namespace, lease, identity, **{**FAST, **kwargs})  # type: ignore[arg-type]
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.work_cancelled = False
        self.task: asyncio.Task[None] | None = None

    async def _work(self) -> None:
        self.leading.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.work_cancelled = True
            raise

    def start(self) -> Candidate:
        self.task = asyncio.create_task(self.elector.run(self._work, self.stopped.set))
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def first_leader(a: Candidate, b: Candidate, timeout: float = 5) -> tuple[Candidate, Candidate]:
    done, _ = await asyncio.wait(
        [asyncio.create_task(a.leading.wait()), asyncio.create_task(b.leading.wait())],
        timeout=timeout,
        return_when=asyncio.FIRST_COMPLETED,
    )
    assert done, "nobody became leader"
    leader, standby = (a, b) if a.leading.is_set() else (b, a)
    return leader, standby


async def lease_spec(client: Client, ns: str, name: str) -> dict:
    return (await client.get(LEASES, name, ns))["spec"]


async def test_one_leader_then_takeover_after_release(client: Client, namespace: str) -> None:
    lease = unique("lease")
    # A long lease: a takeover well before it could expire proves that the leader released it.
    slow = {"lease_duration": 6, "renew_deadline": 4}
    a = Candidate(client, namespace, lease, "a", **slow).start()
    b = Candidate(client, namespace, lease, "b", **slow).start()
    try:
        leader, standby = await first_leader(a, b)
        await asyncio.sleep(0.8)  # several renew periods: still exactly one leader
        assert not standby.leading.is_set()
        spec = await lease_spec(client, namespace, lease)
        assert spec["holderIdentity"] == leader.elector.identity
        assert spec["leaseDurationSeconds"] == 6
        transitions = spec.get("leaseTransitions", 0)

        started = time.monotonic()
        await leader.stop()
        assert leader.work_cancelled and leader.stopped.is_set()
        await asyncio.wait_for(standby.leading.wait(), 5)
        assert time.monotonic() - started < 5
        spec = await lease_spec(client, namespace, lease)
        assert spec["holderIdentity"] == standby.elector.identity
        assert spec["leaseTransitions"] == transitions + 1
    finally:
        await a.stop()
        await b.stop()


async def test_takeover_after_expiry_without_release(client: Client, namespace: str) -> None:
    lease = unique("lease")
    a = Candidate(client, namespace, lease, "a", release_on_cancel=False).start()
    await asyncio.wait_for(a.leading.wait(), 5)
    b = Candidate(client, namespace, lease, "b").start()
    try:
        await asyncio.sleep(0.5)
        assert not b.leading.is_set()
        started = time.monotonic()
        await a.stop()  # gone without a word: b must wait for the lease to expire
        assert (await lease_spec(client, namespace, lease))["holderIdentity"] == "a"
        await asyncio.wait_for(b.leading.wait(), 5)
        assert 1.0 < time.monotonic() - started < 6.0
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.slow
async def test_leader_steps_down_when_it_cannot_renew(private_apiserver: ApiServer) -> None:
    async with Client(private_apiserver.config()) as client:
        a = Candidate(client, "default", unique("lease"), "a").start()
        try:
            await asyncio.wait_for(a.leading.wait(), 5)
            private_apiserver.stop()
            assert a.task is not None
            await asyncio.wait_for(a.task, 5)  # run() returns once the renew deadline passes
            assert a.work_cancelled and a.stopped.is_set()
            assert not a.elector.is_leader
        finally:
            await a.stop()
