"""The StatefulSet controller with the real scheduler and hollow nodes: members started one by one in ordinal
order with stable names and hostnames, scaled down from the highest ordinal, rolled in reverse ordinal order
down to a partition, OnDelete, Parallel pod management, and the status kubectl's rollout status reads."""

from __future__ import annotations

import pytest

from apimachinery.workloads import CONTROLLER_REVISION_HASH, POD_INDEX_LABEL, STATEFULSET_POD_NAME
from tests.integration.workloads.helpers import PodWatch, pods_of, workload
from tests.polling import eventually
from tests.resources import EVENTS, PODS, STATEFULSETS
from tests.stored import status_settled

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]


class PodLog(PodWatch):
    """Records, from a watch, the order in which pods are created, become ready and get deleted."""

    def __init__(self, client, ns):
        super().__init__(client, ns)
        self.events: list[tuple[str, str]] = []
        self._ready: set[str] = set()

    def seen(self, etype, pod):
        name = pod["metadata"]["name"]
        if etype == "ADDED":
            self.events.append(("created", name))
        elif etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            if ("deleted", name) != (self.events[-1] if self.events else None):
                self.events.append(("deleted", name))
            self._ready.discard(name)
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
        )
        if ready and name not in self._ready and not pod["metadata"].get("deletionTimestamp"):
            self._ready.add(name)
            self.events.append(("ready", name))

    def of(self, kind):
        return [n for k, n in self.events if k == kind]


async def rolled_out(client, ns, name, replicas, image=None):
    async def check():
        sts = await client.get(STATEFULSETS, name, ns)
        s = sts.get("status") or {}
        pods = await pods_of(client, ns, label=f"app={name}", live=True)
        if image and any(p["spec"]["containers"][0]["image"] != image for p in pods):
            return None
        counts = dict.fromkeys(
            ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas"), replicas
        )
        ok = (
            status_settled(sts, counts)
            and s.get("currentRevision") == s.get("updateRevision")
            and len(pods) == replicas
        )
        return sts if ok else None

    return await eventually(check, timeout=40, what=f"statefulset {name} at {replicas} ready replicas")


async def test_ordered_start_stable_identity_scaling_and_rolling(
    client, namespace, manager, scheduler, hollow
):
    hollow(2, f"{namespace}-s-")
    async with PodLog(client, namespace) as log:
        await client.create(
            STATEFULSETS, workload("StatefulSet", "web", replicas=3, serviceName="web"), namespace
        )
        sts = await rolled_out(client, namespace, "web", 3, "busybox:1")
    # Each member is created only after its predecessor is ready.
    assert log.of("created") == ["web-0", "web-1", "web-2"]
    events = log.events
    for i in (1, 2):
        assert events.index(("ready", f"web-{i - 1}")) < events.index(("created", f"web-{i}"))
    for i, pod in enumerate(await pods_of(client, namespace, label="app=web")):
        assert pod["metadata"]["name"] == f"web-{i}"
        assert pod["spec"]["hostname"] == f"web-{i}" and pod["spec"]["subdomain"] == "web"
        labels = pod["metadata"]["labels"]
        assert labels[STATEFULSET_POD_NAME] == f"web-{i}" and labels[POD_INDEX_LABEL] == str(i)
        assert labels[CONTROLLER_REVISION_HASH] == sts["status"]["updateRevision"].removeprefix("web-")
    # Scale up then down: down goes from the highest ordinal, one at a time.
    await client.patch(STATEFULSETS, "web", {"spec": {"replicas": 5}}, namespace)
    await rolled_out(client, namespace, "web", 5)
    async with PodLog(client, namespace) as log:
        await client.patch(STATEFULSETS, "web", {"spec": {"replicas": 2}}, namespace, subresource="scale")
        await rolled_out(client, namespace, "web", 2)
    assert log.of("deleted") == ["web-4", "web-3", "web-2"]
    await client.patch(STATEFULSETS, "web", {"spec": {"replicas": 4}}, namespace)
    first = await rolled_out(client, namespace, "web", 4)
    old_revision = first["status"]["currentRevision"]
    # A rolling update with partition 2 replaces web-3, then web-2, and leaves web-0 and web-1 alone.
    patch = {
        "spec": {
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}},
        }
    }
    async with PodLog(client, namespace) as log:
        await client.patch(STATEFULSETS, "web", patch, namespace, patch_type="strategic")

        async def partitioned():
            s = (await client.get(STATEFULSETS, "web", namespace))["status"]
            pods = await pods_of(client, namespace, label="app=web", live=True)
            images = [p["spec"]["containers"][0]["image"] for p in pods]
            ok = (
                images == ["busybox:1", "busybox:1", "busybox:2", "busybox:2"]
                and s.get("updatedReplicas") == 2
            )
            return s if ok and s.get("readyReplicas") == 4 else None

        status = await eventually(partitioned, timeout=40, what="partition 2 rolled")
    assert log.of("deleted") == ["web-3", "web-2"]
    assert status["currentRevision"] == old_revision != status["updateRevision"]
    assert status["currentReplicas"] == 2
    # Partition 0 finishes the roll: web-1, then web-0; the update revision becomes current.
    async with PodLog(client, namespace) as log:
        await client.patch(
            STATEFULSETS, "web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}, namespace
        )
        done = await rolled_out(client, namespace, "web", 4, "busybox:2")
    assert log.of("deleted") == ["web-1", "web-0"]
    assert done["status"]["currentRevision"] == status["updateRevision"]
    reasons = [e["reason"] for e in (await client.list(EVENTS, namespace))["items"]]
    assert "SuccessfulCreate" in reasons and "SuccessfulDelete" in reasons


async def test_parallel_and_on_delete(client, namespace, manager, scheduler, hollow):
    hollow(1, f"{namespace}-p-")
    spec = {"replicas": 4, "podManagementPolicy": "Parallel", "updateStrategy": {"type": "OnDelete"}}
    await client.create(STATEFULSETS, workload("StatefulSet", "par", **spec), namespace)
    await rolled_out(client, namespace, "par", 4)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}
    await client.patch(STATEFULSETS, "par", patch, namespace, patch_type="strategic")

    async def observed():
        sts = await client.get(STATEFULSETS, "par", namespace)
        s = sts["status"]
        return s.get("observedGeneration") == sts["metadata"]["generation"] and s.get("updatedReplicas") == 0

    await eventually(observed, what="new revision observed, no pod replaced (OnDelete)")
    await client.delete(PODS, "par-2", namespace, grace_period_seconds=0)

    async def replaced():
        pods = await pods_of(client, namespace, label="app=par", live=True)
        images = {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in pods}
        return images == {
            "par-0": "busybox:1",
            "par-1": "busybox:1",
            "par-2": "busybox:2",
            "par-3": "busybox:1",
        }

    await eventually(replaced, what="only par-2 recreated, at the update revision")
