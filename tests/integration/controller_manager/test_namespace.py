"""Deleting a namespace deletes everything in it, then the namespace."""

from __future__ import annotations

import pytest

from tests.integration.controller_manager.helpers import deployment
from tests.polling import eventually
from tests.resources import CONFIGMAPS, DEPLOYMENTS, NAMESPACES, PODS, SERVICES
from tests.stored import absent

pytestmark = [pytest.mark.etcd]


async def test_namespace_deletion_empties_then_removes_it(client, namespace, manager):
    await client.create(DEPLOYMENTS, deployment("web", 2), namespace)
    await client.create(CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"a": "b"}}, namespace)
    await client.create(
        SERVICES,
        {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
        namespace,
    )

    async def pods_up():
        return len((await client.list(PODS, namespace))["items"]) == 2

    await eventually(pods_up, what="pods")
    await client.delete(NAMESPACES, namespace)
    ns = await client.get(NAMESPACES, namespace)
    assert ns["status"]["phase"] == "Terminating"

    await eventually(lambda: absent(client, NAMESPACES, namespace), timeout=30, what="namespace gone")
    for res in (PODS, DEPLOYMENTS, CONFIGMAPS, SERVICES):
        assert (await client.list(res, namespace))["items"] == []
