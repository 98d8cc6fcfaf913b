"""The Endpoints controller follows pod readiness, labels and the Service itself."""

from __future__ import annotations

import pytest

from tests.integration.controller_manager.helpers import pod_ready_status, web_and_db_pods
from tests.polling import eventually
from tests.resources import ENDPOINTS, PODS, SERVICES
from tests.stored import absent

pytestmark = [pytest.mark.etcd]


async def test_endpoints_follow_readiness_and_labels(client, namespace, manager):
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "labels": {"tier": "fe"}},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    await client.create(SERVICES, svc, namespace)
    await web_and_db_pods(client, namespace)

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

    await eventually(
        lambda: absent(client, ENDPOINTS, "web", namespace), what="endpoints deleted with the service"
    )


async def _equals(fn, expected):
    return await fn() == expected
