"""The Endpoints controller follows pod readiness, labels and the Service itself."""

from __future__ import annotations

import pytest

from tests import factories
from tests.integration.controller_manager.helpers import pod_ready_status
from tests.polling import eventually
from tests.resources import ENDPOINTS, PODS, SERVICES

pytestmark = [pytest.mark.etcd]


def pod(name, labels, port_name="http", port=8080):
    box = factories.container("c", "busybox", ports=[{"name": port_name, "containerPort": port}])
    return factories.pod(name, labels, containers=[box])


async def test_endpoints_follow_readiness_and_labels(client, namespace, manager):
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "labels": {"tier": "fe"}},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    await client.create(SERVICES, svc, namespace)
    await client.create(PODS, pod("a", {"app": "web"}), namespace)
    await client.create(PODS, pod("b", {"app": "web"}, port=9090), namespace)
    await client.create(PODS, pod("other", {"app": "db"}), namespace)
    await client.patch(PODS, "a", pod_ready_status("10.251.0.1"), namespace, subresource="status")
    await client.patch(
        PODS, "b", pod_ready_status("10.251.0.2", ready=False), namespace, subresource="status"
    )
    await client.patch(PODS, "other", pod_ready_status("10.251.0.3"), namespace, subresource="status")

    async def subsets():
        ep = await client.get(ENDPOINTS, "web", namespace)
        out = {}
        for s in ep.get("subsets") or []:
            port = s["ports"][0]["port"]
            for a in s.get("addresses") or []:
                out[a["targetRef"]["name"]] = ("ready", a["ip"], port)
            for a in s.get("notReadyAddresses") or []:
                out[a["targetRef"]["name"]] = ("not-ready", a["ip"], port)
        return out

    expected = {"a": ("ready", "10.251.0.1", 8080), "b": ("not-ready", "10.251.0.2", 9090)}
    await eventually(lambda: _equals(subsets, expected), what="first endpoints")
    ep = await client.get(ENDPOINTS, "web", namespace)
    assert ep["metadata"]["labels"] == {"tier": "fe"}
    ref = ep["subsets"][0].get("addresses", ep["subsets"][0].get("notReadyAddresses"))[0]["targetRef"]
    assert ref["kind"] == "Pod" and ref["namespace"] == namespace and ref["uid"]

    # b becomes ready, a stops matching.
    await client.patch(PODS, "b", pod_ready_status("10.251.0.2"), namespace, subresource="status")
    await client.patch(PODS, "a", {"metadata": {"labels": {"app": "gone"}}}, namespace)
    await eventually(lambda: _equals(subsets, {"b": ("ready", "10.251.0.2", 9090)}), what="updated endpoints")

    await client.delete(PODS, "b", namespace)
    await eventually(lambda: _equals(subsets, {}), what="empty endpoints")

    await client.delete(SERVICES, "web", namespace)

    async def gone():
        try:
            await client.get(ENDPOINTS, "web", namespace)
        except Exception as exc:
            return getattr(exc, "code", None) == 404
        return False

    await eventually(gone, what="endpoints deleted with the service")


async def _equals(fn, expected):
    return await fn() == expected
