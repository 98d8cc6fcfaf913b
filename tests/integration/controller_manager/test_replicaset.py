"""The ReplicaSet controller against a real apiserver: scaling, burst without over-creation, adoption, release."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.integration.controller_manager.helpers import (
    LivePodCounter,
    is_ready,
    next_ip,
    pod_ready_status,
    replicaset,
)
from tests.polling import eventually
from tests.resources import EVENTS, PODS, REPLICASETS

pytestmark = [pytest.mark.etcd]


async def owned_pods(client, ns, uid):
    pods = (await client.list(PODS, ns))["items"]
    return [
        p
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        and any(r["uid"] == uid and r.get("controller") for r in p["metadata"].get("ownerReferences") or [])
    ]


async def test_scale_up_and_down_deletes_unready_first(client, namespace, manager):
    rs = await client.create(REPLICASETS, replicaset("web", 4), namespace)
    uid = rs["metadata"]["uid"]
    pods = await eventually(lambda: _count(client, namespace, uid, 4), what="4 pods")
    for p in pods:
        assert p["metadata"]["name"].startswith("web-")
        ref = p["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "ReplicaSet" and ref["controller"] and ref["blockOwnerDeletion"]
    ready = sorted(p["metadata"]["name"] for p in pods)[:2]
    for name in ready:
        await client.patch(PODS, name, pod_ready_status(next_ip()), namespace, subresource="status")

    async def status_ready():
        s = (await client.get(REPLICASETS, "web", namespace)).get("status") or {}
        return s.get("readyReplicas") == 2 and s.get("replicas") == 4 and s.get("availableReplicas") == 2

    await eventually(status_ready, what="readyReplicas 2")

    await client.patch(REPLICASETS, "web", {"spec": {"replicas": 2}}, namespace)
    left = await eventually(lambda: _count(client, namespace, uid, 2), what="2 pods left")
    assert sorted(p["metadata"]["name"] for p in left) == ready  # the unready ones went
    assert all(is_ready(p) for p in left)

    async def events():
        reasons = {e["reason"] for e in (await client.list(EVENTS, namespace))["items"]}
        return {"SuccessfulCreate", "SuccessfulDelete"} <= reasons

    await eventually(events, what="events")


async def _count(client, ns, uid, n):
    pods = await owned_pods(client, ns, uid)
    return pods if len(pods) == n else None


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_burst_to_500_never_over_creates(client, namespace, manager):
    async with LivePodCounter(client, namespace) as counter:
        await client.create(REPLICASETS, replicaset("burst", 0), namespace)
        await client.patch(REPLICASETS, "burst", {"spec": {"replicas": 500}}, namespace)

        async def settled():
            rs = await client.get(REPLICASETS, "burst", namespace)
            s = rs.get("status") or {}
            return s.get("replicas") == 500 and s.get("observedGeneration") == rs["metadata"]["generation"]

        await eventually(settled, timeout=90, interval=0.5, what="500 replicas")
        # The status says 500 and the controller has nothing pending: one more resync must not add any.
        await client.patch(REPLICASETS, "burst", {"metadata": {"labels": {"poke": "1"}}}, namespace)
        await eventually(lambda: len(counter.live) == 500, timeout=10, what="watch caught up")
        assert counter.max == 500


async def test_adopts_orphans_and_releases_non_matching(client, namespace, manager):
    orphan = factories.pod("orphan", {"app": "adopt"}, "busybox", "c")
    await client.create(PODS, orphan, namespace)
    # Running and ready: should the controller's pod informer show the orphan only after the ReplicaSet (a busy
    # watch may lag), the controller creates a pod, adopts the orphan, and then deletes the pod that ranks first
    # for deletion, which must be its new Pending one, not the orphan (same creation second: age cannot decide).
    await client.patch(PODS, "orphan", pod_ready_status(next_ip()), namespace, subresource="status")
    rs = await client.create(REPLICASETS, replicaset("adopt", 1), namespace)
    uid = rs["metadata"]["uid"]

    async def adopted_alone():
        return [p["metadata"]["name"] for p in await owned_pods(client, namespace, uid)] == ["orphan"]

    await eventually(adopted_alone, what="orphan adopted and the only pod of the ReplicaSet")

    # Relabel: the pod no longer matches, so it is released and a replacement is created.
    await client.patch(PODS, "orphan", {"metadata": {"labels": {"app": "elsewhere"}}}, namespace)

    async def released():
        p = await client.get(PODS, "orphan", namespace)
        return not p["metadata"].get("ownerReferences")

    await eventually(released, what="pod released")
    replacement = await eventually(lambda: _count(client, namespace, uid, 1), what="replacement")
    assert replacement[0]["metadata"]["name"] != "orphan"


async def test_healthz_and_metrics(manager):
    import httpx

    async with httpx.AsyncClient(base_url=manager.url, timeout=5) as http:
        assert (await http.get("/healthz")).text == "ok"
        body = (await http.get("/metrics")).text
    assert 'workqueue_depth{name="replicaset"}' in body
    # client-go's names: the work queue's latencies, the REST client's requests, the build.
    assert 'workqueue_queue_duration_seconds_count{name="replicaset"}' in body
    assert 'workqueue_work_duration_seconds_bucket{le="1e-08",name="replicaset"}' in body
    assert 'workqueue_longest_running_processor_seconds{name="replicaset"}' in body
    assert re.search(r'rest_client_requests_total\{code="200",host="127\.0\.0\.1:\d+",method="GET"\}', body)
    assert re.search(
        r'rest_client_request_duration_seconds_count\{host="127\.0\.0\.1:\d+",verb="PATCH"\}', body
    )
    assert 'kubernetes_build_info{build_date="' in body and 'minor="32"' in body
    assert 'controller_reconcile_duration_seconds_count{controller="replicaset"}' in body
    assert "controller_reconcile_errors_total" in body
