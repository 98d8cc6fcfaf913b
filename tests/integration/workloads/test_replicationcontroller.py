"""ReplicationControllers (the ReplicaSet controller with a label-map selector): replicas kept, scale subresource,
defaults from the template, orphans adopted; and the garbage collector with the new owner kinds."""

from __future__ import annotations

import pytest

from tests import factories
from tests.integration.workloads.helpers import job, pods_of, rc, workload
from tests.polling import eventually
from tests.resources import DAEMONSETS, JOBS, PODS, RCS, STATEFULSETS
from tests.stored import get_or_none

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(90)]


async def ready_replicas(client, ns, name, n):
    async def check():
        r = await client.get(RCS, name, ns)
        s = r.get("status") or {}
        pods = await pods_of(client, ns, label=f"app={name}", live=True)
        ok = s.get("replicas") == n and s.get("readyReplicas") == n and len(pods) == n
        return pods if ok and s.get("observedGeneration") == r["metadata"]["generation"] else None

    return await eventually(check, timeout=30, what=f"rc {name} with {n} ready replicas")


async def test_rc_keeps_its_replicas(client, namespace, manager, scheduler, hollow):
    hollow(2, f"{namespace}-rc-")
    created = await client.create(RCS, rc("frontend", 3), namespace)
    # Defaults: the selector and the RC's labels come from the template.
    assert created["spec"]["selector"] == {"app": "frontend"}
    assert created["metadata"]["labels"] == {"app": "frontend"}
    pods = await ready_replicas(client, namespace, "frontend", 3)
    for pod in pods:
        ref = pod["metadata"]["ownerReferences"][0]
        assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("v1", "ReplicationController", "frontend")
    await client.delete(PODS, pods[0]["metadata"]["name"], namespace, grace_period_seconds=0)
    after = await ready_replicas(client, namespace, "frontend", 3)
    assert pods[0]["metadata"]["name"] not in {p["metadata"]["name"] for p in after}

    async def scale_status():
        scale = await client.get(RCS, "frontend", namespace, subresource="scale")
        return scale["status"] == {"replicas": 3, "selector": "app=frontend"} and scale["spec"] == {
            "replicas": 3
        }

    # The status may still show the moment after the delete: wait for the count to come back.
    await eventually(scale_status, what="scale subresource")
    await client.patch(RCS, "frontend", {"spec": {"replicas": 1}}, namespace, subresource="scale")
    await ready_replicas(client, namespace, "frontend", 1)
    # An orphan with the labels is adopted (and, being one too many, removed).
    orphan = factories.pod("stray", {"app": "frontend"}, "busybox:1", "c")
    await client.create(PODS, orphan, namespace)
    await ready_replicas(client, namespace, "frontend", 1)


@pytest.mark.parametrize("kind", ["ReplicationController", "DaemonSet", "StatefulSet", "Job"])
async def test_garbage_collector_follows_the_new_owners(client, namespace, manager, scheduler, hollow, kind):
    hollow(1, f"{namespace}-gc-")
    res = {"ReplicationController": RCS, "DaemonSet": DAEMONSETS, "StatefulSet": STATEFULSETS, "Job": JOBS}[
        kind
    ]
    body = {
        "ReplicationController": lambda: rc("owned", 2),
        "DaemonSet": lambda: workload("DaemonSet", "owned"),
        "StatefulSet": lambda: workload("StatefulSet", "owned", replicas=2),
        "Job": lambda: {**job("owned", parallelism=2, completions=2), "metadata": {"name": "owned"}},
    }[kind]()
    if kind == "Job":
        body["spec"]["template"]["metadata"] = {"labels": {"app": "owned"}}
    await client.create(res, body, namespace)

    async def has_pods():
        return len(await pods_of(client, namespace, label="app=owned", live=True)) >= 1

    await eventually(has_pods, what=f"{kind} pods")
    await client.delete(res, "owned", namespace, propagation_policy="Background")

    async def collected():
        return await get_or_none(client, res, "owned", namespace) is None and not await pods_of(
            client, namespace, label="app=owned"
        )

    await eventually(collected, timeout=30, what=f"{kind} and its pods collected")
