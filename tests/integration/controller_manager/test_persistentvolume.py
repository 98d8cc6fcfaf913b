"""The PV controller and the volume protection controller against a real apiserver and controller-manager:
static binding, WaitForFirstConsumer, local-path provisioning on the selected node, reclaim Retain/Delete, the
protection finalizers, refusals as events, and the default class admission."""

from __future__ import annotations

import contextlib
import uuid

import pytest

from apimachinery import storage
from apimachinery.errors import StatusError
from apimachinery.resources import must_resource
from tests import factories
from tests.polling import eventually
from tests.resources import EVENTS, NODES, PODS
from tests.stored import absent

pytestmark = [pytest.mark.etcd]

PVS = must_resource("", "persistentvolumes")
PVCS = must_resource("", "persistentvolumeclaims")
CLASSES = must_resource("storage.k8s.io", "storageclasses")


def claim(name: str, size: str = "1Gi", modes=("ReadWriteOnce",), cls: str | None = None, **spec):
    return factories.claim(name, cls, size, modes, **spec)


def host_pv(name: str, size: str = "2Gi", policy: str = "Retain", cls: str = "", **spec):
    source = {"path": f"/tmp/{name}"}
    return factories.persistent_volume(
        name, size, persistentVolumeReclaimPolicy=policy, storageClassName=cls, hostPath=source, **spec
    )


def local_class(name: str, **extra):
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": storage.LOCAL_PATH_PROVISIONER,
        "volumeBindingMode": "WaitForFirstConsumer",
        **extra,
    }


@pytest.fixture
async def cleanup(client):
    made: list[tuple] = []
    yield made
    for res, name, ns in reversed(made):
        with contextlib.suppress(StatusError):
            await client.delete(res, name, ns)
            obj = await client.get(res, name, ns)
            if obj["metadata"].get("finalizers"):
                obj["metadata"]["finalizers"] = []
                await client.update(res, obj, ns)


async def phase(client, res, name, ns=None):
    return ((await client.get(res, name, ns)).get("status") or {}).get("phase")


async def reasons(client, ns, name):
    events = (await client.list(EVENTS, ns))["items"]
    return {e["reason"]: e["message"] for e in events if e["involvedObject"]["name"] == name}


async def test_static_binding_protection_and_retain(client, namespace, manager, cleanup):
    pv_name = f"pv-{uuid.uuid4().hex[:8]}"
    cls = f"manual-{uuid.uuid4().hex[:6]}"
    await client.create(PVS, host_pv(pv_name, cls=cls))
    cleanup.append((PVS, pv_name, None))
    pv = await client.get(PVS, pv_name)
    assert storage.PV_PROTECTION in pv["metadata"]["finalizers"]
    await eventually(lambda: _is(client, PVS, pv_name, None, "Available"), what="pv Available")

    await client.create(PVCS, claim("data", "1Gi", cls=cls), namespace)
    await eventually(lambda: _is(client, PVCS, "data", namespace, "Bound"), what="claim Bound")
    bound = await client.get(PVCS, "data", namespace)
    assert bound["spec"]["volumeName"] == pv_name
    assert bound["status"]["capacity"] == {"storage": "2Gi"}
    assert storage.PVC_PROTECTION in bound["metadata"]["finalizers"]
    await eventually(lambda: _is(client, PVS, pv_name, None, "Bound"), what="pv Bound")

    # A pod using the claim holds it: deleting the claim leaves it Terminating until the pod is gone.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "user"},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox:1", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}
            ],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    await client.create(PODS, pod, namespace)
    await client.delete(PVCS, "data", namespace)
    held = await client.get(PVCS, "data", namespace)
    assert held["metadata"].get("deletionTimestamp")
    await client.delete(PODS, "user", namespace, grace_period_seconds=0)

    await eventually(lambda: absent(client, PVCS, "data", namespace), what="claim gone once its pod is")
    # Retain: the volume stays, Released.
    await eventually(lambda: _is(client, PVS, pv_name, None, "Released"), what="pv Released")
    assert (await client.get(PVS, pv_name))["spec"]["claimRef"]["name"] == "data"


async def _is(client, res, name, ns, want):
    return await phase(client, res, name, ns) == want


async def test_wait_for_first_consumer_then_local_path_provisioning(client, namespace, manager, cleanup):
    cls = f"lp-{uuid.uuid4().hex[:6]}"
    node = f"node-{uuid.uuid4().hex[:6]}"
    await client.create(CLASSES, local_class(cls, parameters={"maxSize": "5Gi"}))
    cleanup.append((CLASSES, cls, None))
    node_obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node,
            "labels": {storage.HOSTNAME_LABEL: node},
            "annotations": {storage.LOCAL_PATH_ROOT_ANNOTATION: "/var/lib/kubelite/local"},
        },
    }
    await client.create(NODES, node_obj)
    cleanup.append((NODES, node, None))

    created = await client.create(PVCS, claim("wait", "1Gi", cls=cls), namespace)
    await eventually(
        lambda: _has_reason(client, namespace, "wait", "WaitForFirstConsumer"),
        what="WaitForFirstConsumer event",
    )
    assert await phase(client, PVCS, "wait", namespace) == "Pending"

    # What the scheduler does once a pod using the claim is placed: name the node.
    await client.patch(PVCS, "wait", {"metadata": {"annotations": {storage.SELECTED_NODE: node}}}, namespace)
    await eventually(lambda: _is(client, PVCS, "wait", namespace, "Bound"), what="provisioned and Bound")
    pv_name = f"pvc-{created['metadata']['uid']}"
    cleanup.append((PVS, pv_name, None))
    pv = await client.get(PVS, pv_name)
    assert pv["spec"]["local"]["path"] == f"/var/lib/kubelite/local/{pv_name}"
    assert storage.node_of(pv) == node
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["metadata"]["annotations"][storage.PROVISIONED_BY] == storage.LOCAL_PATH_PROVISIONER

    # Delete: the claim goes, the volume object goes (no node holds its directory here).
    await client.delete(PVCS, "wait", namespace)

    await eventually(lambda: absent(client, PVS, pv_name), what="provisioned pv deleted with its claim")


async def _has_reason(client, ns, name, reason):
    return reason in await reasons(client, ns, name)


async def test_refusals_are_events(client, namespace, manager, cleanup):
    cls = f"lp-{uuid.uuid4().hex[:6]}"
    await client.create(CLASSES, local_class(cls, parameters={"maxSize": "1Gi"}))
    cleanup.append((CLASSES, cls, None))
    await client.create(PVCS, claim("big", "20Gi", cls=cls), namespace)
    await client.create(PVCS, claim("shared", "1Gi", modes=("ReadWriteMany",), cls=cls), namespace)
    await eventually(lambda: _has_reason(client, namespace, "big", "ProvisioningFailed"), what="size refused")
    await eventually(
        lambda: _has_reason(client, namespace, "shared", "ProvisioningFailed"), what="mode refused"
    )
    big = (await reasons(client, namespace, "big"))["ProvisioningFailed"]
    shared = (await reasons(client, namespace, "shared"))["ProvisioningFailed"]
    assert "requested 20Gi is more than storage class" in big and "maxSize 1Gi" in big
    assert "ReadWriteMany" in shared
    assert await phase(client, PVCS, "big", namespace) == "Pending"


async def test_default_class_admission(client, namespace, cleanup):
    cls = f"zz-default-{uuid.uuid4().hex[:6]}"
    body = local_class(cls)
    body["metadata"]["annotations"] = {storage.DEFAULT_CLASS_ANNOTATION: "true"}
    await client.create(CLASSES, body)
    cleanup.append((CLASSES, cls, None))
    made = await client.create(PVCS, claim("defaulted"), namespace)
    assert made["spec"]["storageClassName"] == cls
    explicit = await client.create(PVCS, claim("none", cls=""), namespace)
    assert explicit["spec"].get("storageClassName", "") == ""


async def test_bad_volumes_are_refused(client, namespace):
    bad = host_pv(f"pv-{uuid.uuid4().hex[:8]}")
    bad["spec"]["hostPath"]["path"] = "/srv/../etc"
    with pytest.raises(StatusError) as err:
        await client.create(PVS, bad)
    assert err.value.code == 422 and "spec.hostPath.path" in str(err.value)
    with pytest.raises(StatusError) as err:
        await client.create(PVCS, claim("x", "0"), namespace)
    assert err.value.code == 422
    with pytest.raises(StatusError) as err:
        await client.create(PVCS, claim("y", modes=("ReadWriteSometimes",)), namespace)
    assert err.value.code == 422 and "spec.accessModes" in str(err.value)


def test_apiserver_keeps_the_default_local_path_class() -> None:
    """`--default-local-path-storage-class` (kctl up, compose): the class exists, is the default, and a claim
    without a class gets it; a class the administrator changed is left as it is."""
    from tests.harness import own_apiserver

    with own_apiserver(["--default-local-path-storage-class"]) as server, server.client() as http:
        sc = http.get("/apis/storage.k8s.io/v1/storageclasses/local-path").json()
        assert sc["provisioner"] == storage.LOCAL_PATH_PROVISIONER
        assert sc["volumeBindingMode"] == "WaitForFirstConsumer" and sc["reclaimPolicy"] == "Delete"
        assert storage.is_default_class(sc)
        made = http.post("/api/v1/namespaces/default/persistentvolumeclaims", json=claim("c")).json()
        assert made["spec"]["storageClassName"] == "local-path"
        table = http.get(
            "/apis/storage.k8s.io/v1/storageclasses",
            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        ).json()
        assert [c["name"] for c in table["columnDefinitions"]] == [
            "Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age",
        ]  # fmt: skip
        assert table["rows"][0]["cells"][:5] == [
            "local-path (default)", storage.LOCAL_PATH_PROVISIONER, "Delete", "WaitForFirstConsumer", False,
        ]  # fmt: skip


async def test_statefulset_claims_per_ordinal_are_created_and_kept(client, namespace, manager):
    sts_res = must_resource("apps", "statefulsets")
    box = factories.container("c", "busybox:1", volumeMounts=[{"name": "d", "mountPath": "/d"}])
    claims = [factories.claim_template("d", "none-here", "1Gi", labels={"tier": "db"})]
    sts = factories.statefulset(
        "db",
        2,
        [box],
        labels={"app": "sts-claims"},
        podManagementPolicy="Parallel",
        volumeClaimTemplates=claims,
    )
    await client.create(sts_res, sts, namespace)

    async def both():
        names = {c["metadata"]["name"] for c in (await client.list(PVCS, namespace))["items"]}
        return names >= {"d-db-0", "d-db-1"}

    await eventually(both, what="claims d-db-0 and d-db-1")
    first = await client.get(PVCS, "d-db-0", namespace)
    assert first["metadata"]["labels"] == {"tier": "db", "app": "sts-claims"}
    assert not first["metadata"].get("ownerReferences")  # retention policy Retain: not owned by the set
    pod = await eventually(lambda: client.get(PODS, "db-0", namespace), what="member db-0")
    assert {"name": "d", "persistentVolumeClaim": {"claimName": "d-db-0"}} in pod["spec"]["volumes"]
    # The member is replaced; its claim is the same object.
    await client.delete(PODS, "db-0", namespace, grace_period_seconds=0)

    async def replaced():
        new = await client.get(PODS, "db-0", namespace)
        return new["metadata"]["uid"] != pod["metadata"]["uid"]

    await eventually(replaced, what="db-0 recreated")
    assert (await client.get(PVCS, "d-db-0", namespace))["metadata"]["uid"] == first["metadata"]["uid"]
