"""The EndpointSlice controller, as a real controller-manager process against a real apiserver: slices follow pod
readiness, labels and termination; they are grouped by port set, hold at most --max-endpoints-per-slice endpoints,
are put back when deleted by hand, and go with their Service."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.resources import by_resource
from tests.factories import Obj
from tests.integration.controller_manager.helpers import pod_ready_status, serving_pod, web_and_db_pods
from tests.polling import eventually
from tests.resources import NODES, PODS, SERVICES

pytestmark = [pytest.mark.etcd]

SLICES = by_resource("discovery.k8s.io", "endpointslices")
assert SLICES is not None


def service(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"tier": "fe"}},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            **spec,
        },
    }


async def slices_of(client, namespace: str, name: str) -> list[Obj]:
    listed = await client.list(SLICES, namespace, label_selector=f"kubernetes.io/service-name={name}")
    return sorted(listed["items"], key=lambda s: s["metadata"]["name"])


async def endpoints_by_pod(client, namespace: str, name: str) -> dict[str, tuple[Any, ...]]:
    out = {}
    for s in await slices_of(client, namespace, name):
        for ep in s.get("endpoints") or []:
            c = ep["conditions"]
            ports = tuple(p["port"] for p in s["ports"])
            out[ep["targetRef"]["name"]] = (
                ep["addresses"][0],
                ports,
                c["ready"],
                c["serving"],
                c["terminating"],
            )
    return out


async def test_slices_follow_readiness_labels_and_termination(client, namespace, start_manager) -> None:
    start_manager("--controllers", "endpointslice")
    svc = await client.create(SERVICES, service("web"), namespace)
    await web_and_db_pods(client, namespace)

    expected = {
        "a": ("10.251.0.1", (8080,), True, True, False),
        "b": ("10.251.0.2", (9090,), False, False, False),
    }
    await eventually(lambda: _is(endpoints_by_pod(client, namespace, "web"), expected), what="first slices")
    slices = await slices_of(client, namespace, "web")
    assert len(slices) == 2  # one per port set: a serves 8080, b serves 9090
    for s in slices:
        md = s["metadata"]
        assert md["name"].startswith("web-") and md["generation"] >= 1
        assert md["labels"] == {
            "tier": "fe",
            "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        }
        assert md["ownerReferences"] == [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "name": "web",
                "uid": svc["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert s["addressType"] == "IPv4"
        assert s["ports"][0]["name"] == "http" and s["ports"][0]["protocol"] == "TCP"
        ref = s["endpoints"][0]["targetRef"]
        assert ref["kind"] == "Pod" and ref["namespace"] == namespace and ref["uid"]

    # b becomes ready; a stops matching.
    await client.patch(PODS, "b", pod_ready_status("10.251.0.2"), namespace, subresource="status")
    await client.patch(PODS, "a", {"metadata": {"labels": {"app": "gone"}}}, namespace)
    await eventually(
        lambda: _is(
            endpoints_by_pod(client, namespace, "web"), {"b": ("10.251.0.2", (9090,), True, True, False)}
        ),
        what="updated slices",
    )
    # A terminating pod stays, not ready but serving (kube-proxy falls back to it when nothing else is ready).
    await client.create(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n-{namespace}"}})
    bound = serving_pod("c", {"app": "web"}, nodeName=f"n-{namespace}", terminationGracePeriodSeconds=300)
    await client.create(PODS, bound, namespace)
    await client.patch(PODS, "c", pod_ready_status("10.251.0.4"), namespace, subresource="status")
    await eventually(lambda: _has(endpoints_by_pod(client, namespace, "web"), "c"), what="c in a slice")
    await client.delete(PODS, "c", namespace)
    await eventually(
        lambda: _entry(
            endpoints_by_pod(client, namespace, "web"), "c", ("10.251.0.4", (8080,), False, True, True)
        ),
        what="c terminating",
    )
    ep = next(
        e
        for s in await slices_of(client, namespace, "web")
        for e in s["endpoints"]
        if e["targetRef"]["name"] == "c"
    )
    assert ep["nodeName"] == f"n-{namespace}"
    await client.delete(PODS, "c", namespace, grace_period_seconds=0)

    # No endpoints left: one placeholder slice without ports or endpoints.
    await client.delete(PODS, "b", namespace)

    async def placeholder() -> bool:
        slices = await slices_of(client, namespace, "web")
        return len(slices) == 1 and slices[0]["endpoints"] == [] and slices[0]["ports"] == []

    await eventually(placeholder, what="placeholder slice")
    await client.delete(NODES, f"n-{namespace}")

    # Deleted by hand: put back. The Service gone: its slices go.
    [s] = await slices_of(client, namespace, "web")
    await client.delete(SLICES, s["metadata"]["name"], namespace)
    await eventually(lambda: _count(slices_of(client, namespace, "web"), 1), what="slice put back")
    await client.delete(SERVICES, "web", namespace)
    await eventually(lambda: _count(slices_of(client, namespace, "web"), 0), what="slices gone")


async def test_a_slice_holds_at_most_max_endpoints_and_churn_touches_one_slice(
    client, namespace, start_manager
) -> None:
    start_manager("--controllers", "endpointslice", "--max-endpoints-per-slice", "3")
    await client.create(SERVICES, service("many", clusterIP="None"), namespace)
    for i in range(7):
        await client.create(PODS, serving_pod(f"p{i}", {"app": "many"}), namespace)
        await client.patch(
            PODS, f"p{i}", pod_ready_status(f"10.251.1.{i + 1}"), namespace, subresource="status"
        )

    async def sizes() -> list[int]:
        return sorted(len(s["endpoints"]) for s in await slices_of(client, namespace, "many"))

    await eventually(lambda: _is(sizes(), [1, 3, 3]), what="7 endpoints in slices of 3")
    slices = await slices_of(client, namespace, "many")
    assert all(s["metadata"]["labels"]["service.kubernetes.io/headless"] == "" for s in slices)
    before = {s["metadata"]["name"]: s["metadata"]["resourceVersion"] for s in slices}
    holder = next(
        s["metadata"]["name"] for s in slices if any(e["targetRef"]["name"] == "p0" for e in s["endpoints"])
    )

    await client.delete(PODS, "p0", namespace)
    await eventually(lambda: _is(sizes(), [1, 2, 3]), what="p0 gone from its slice")
    after = {
        s["metadata"]["name"]: s["metadata"]["resourceVersion"]
        for s in await slices_of(client, namespace, "many")
    }
    assert [n for n in after if after[n] != before.get(n)] == [holder]


async def _is(awaitable, expected) -> bool:
    return await awaitable == expected


async def _has(awaitable, key) -> bool:
    return key in await awaitable


async def _entry(awaitable, key, expected) -> bool:
    return (await awaitable).get(key) == expected


async def _count(awaitable, n: int) -> bool:
    return len(await awaitable) == n
