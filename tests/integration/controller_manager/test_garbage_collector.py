"""Garbage collection: background cascade, foreground (blockOwnerDeletion) and orphan propagation."""

from __future__ import annotations

import pytest

from tests.integration.controller_manager.helpers import deployment
from tests.polling import eventually
from tests.resources import CONFIGMAPS, DEPLOYMENTS, PODS, REPLICASETS
from tests.stored import absent, get_or_none

pytestmark = [pytest.mark.etcd]


def cm(name, owner=None, block=False, finalizers=None):
    meta = {"name": name}
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "blockOwnerDeletion": block,
            }
        ]
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {}}


async def test_background_cascade(client, namespace, manager):
    owner = await client.create(CONFIGMAPS, cm("owner"), namespace)
    await client.create(CONFIGMAPS, cm("child", owner), namespace)
    child = await client.get(CONFIGMAPS, "child", namespace)
    await client.create(CONFIGMAPS, cm("grandchild", child), namespace)
    await client.delete(CONFIGMAPS, "owner", namespace)
    await eventually(lambda: absent(client, CONFIGMAPS, "child", namespace), what="child collected")
    await eventually(lambda: absent(client, CONFIGMAPS, "grandchild", namespace), what="grandchild collected")


async def test_dependent_of_a_missing_owner_is_collected(client, namespace, manager):
    ghost = {"metadata": {"name": "ghost", "uid": "00000000-0000-0000-0000-000000000000"}}
    await client.create(CONFIGMAPS, cm("stray", ghost), namespace)
    await eventually(lambda: absent(client, CONFIGMAPS, "stray", namespace), what="stray collected")


async def test_foreground_waits_for_blocking_dependents(client, namespace, manager):
    owner = await client.create(CONFIGMAPS, cm("fg-owner"), namespace)
    # The dependent holds a finalizer of ours, so we can watch the owner wait for it.
    await client.create(CONFIGMAPS, cm("fg-child", owner, block=True, finalizers=["test/hold"]), namespace)
    await client.delete(CONFIGMAPS, "fg-owner", namespace, propagation_policy="Foreground")

    async def child_deleting():
        c = await client.get(CONFIGMAPS, "fg-child", namespace)
        return c["metadata"].get("deletionTimestamp")

    await eventually(child_deleting, what="dependent deleted first")
    o = await client.get(CONFIGMAPS, "fg-owner", namespace)
    assert o["metadata"].get("deletionTimestamp")
    assert "foregroundDeletion" in o["metadata"]["finalizers"]

    await client.patch(CONFIGMAPS, "fg-child", {"metadata": {"finalizers": None}}, namespace)
    await eventually(lambda: absent(client, CONFIGMAPS, "fg-child", namespace), what="dependent gone")
    await eventually(lambda: absent(client, CONFIGMAPS, "fg-owner", namespace), what="owner gone after it")


async def test_orphan_keeps_dependents(client, namespace, manager):
    owner = await client.create(CONFIGMAPS, cm("or-owner"), namespace)
    await client.create(CONFIGMAPS, cm("or-child", owner), namespace)
    await client.delete(CONFIGMAPS, "or-owner", namespace, propagation_policy="Orphan")
    await eventually(lambda: absent(client, CONFIGMAPS, "or-owner", namespace), what="owner gone")
    child = await client.get(CONFIGMAPS, "or-child", namespace)
    assert not child["metadata"].get("ownerReferences")


@pytest.mark.parametrize("propagation", ["Background", "Foreground"])
async def test_deleting_a_deployment_cascades_to_replicasets_and_pods(
    client, namespace, manager, propagation
):
    await client.create(DEPLOYMENTS, deployment("gc", 3), namespace)

    async def pods(n):
        return len((await client.list(PODS, namespace))["items"]) == n

    await eventually(lambda: pods(3), what="3 pods")
    await client.delete(DEPLOYMENTS, "gc", namespace, propagation_policy=propagation)

    async def all_gone():
        # In the foreground the Deployment itself stays (deletionTimestamp set) until its dependents are gone.
        d = await get_or_none(client, DEPLOYMENTS, "gc", namespace)
        rs = (await client.list(REPLICASETS, namespace))["items"]
        return d is None and not rs and await pods(0)

    await eventually(all_gone, what="deployment, replicasets and pods collected")
