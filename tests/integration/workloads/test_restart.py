"""A controller-manager SIGKILLed while a Job, a ReplicationController, a StatefulSet and a DaemonSet are creating
their pods: the next manager finishes the work and never makes a pod too many (expectations rebuilt from a synced
cache; the Job's tracking finalizers; the StatefulSet's fixed names; one pod per node).

Its own module (and so its own cluster): no other manager may run meanwhile.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.workloads.helpers import PodWatch, job, rc, workload
from tests.polling import eventually
from tests.resources import DAEMONSETS, JOBS, PODS, RCS, STATEFULSETS

pytestmark = [pytest.mark.etcd, pytest.mark.slow, pytest.mark.timeout(180)]


class Creations(PodWatch):
    """From a watch: every pod uid ever created in the namespace, and how many were deleted."""

    def __init__(self, client, ns):
        super().__init__(client, ns)
        self.created: set[str] = set()
        self.deleted = 0

    def seen(self, etype, pod):
        if etype == "ADDED":
            self.created.add(pod["metadata"]["uid"])
        elif etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            self.deleted += 1


CASES = {
    # kind: (resource, object, pods wanted)
    "Job": (JOBS, lambda: job("j", parallelism=200, completions=200), 200),
    "ReplicationController": (RCS, lambda: rc("r", 200, selector={"app": "r"}), 200),
    "StatefulSet": (
        STATEFULSETS,
        lambda: workload("StatefulSet", "s", replicas=100, podManagementPolicy="Parallel"),
        100,
    ),
    "DaemonSet": (DAEMONSETS, lambda: workload("DaemonSet", "d"), 40),
}


@pytest.mark.parametrize("kind", list(CASES))
async def test_restart_mid_creation_never_over_creates(client, namespace, start_managers, hollow, kind):
    res, make, wanted = CASES[kind]
    if kind == "DaemonSet":
        hollow(40, f"{namespace}-")
    async with Creations(client, namespace) as seen:
        first = start_managers()
        await client.create(res, make(), namespace)
        await eventually(
            lambda: len(seen.created) >= 10, timeout=30, interval=0.005, what="creation under way"
        )
        first.kill()  # SIGKILL: nothing flushed, no goodbye
        at_kill = len(seen.created)
        await asyncio.sleep(0)  # let the watch deliver what was already sent
        start_managers()
        await eventually(lambda: len(seen.created) >= wanted, timeout=90, what=f"{wanted} pods")

        async def settled():
            # Nothing more is created once the count is reached: watch a quiet second.
            before = len(seen.created)
            await asyncio.sleep(1.0)
            return len(seen.created) == before

        await eventually(settled, timeout=30, what="no more pods")
    assert at_kill < wanted, "the first manager finished before it was killed: the test proved nothing"
    assert len(seen.created) == wanted
    assert seen.deleted == 0
    live = (await client.list(PODS, namespace))["items"]
    assert len(live) == wanted
    if kind == "DaemonSet":
        from controller_manager.daemonset_util import (
            target_node,
        )  # the test reads pods as the controller does

        nodes = [target_node(p) for p in live]
        assert len(set(nodes)) == wanted
