"""Persistent storage, the pure parts: matching volumes to claims, node pinning, the local-path paths (checked
twice: at the API and on the node, through symlinks), what the provisioner refuses, validation, the default class,
kubectl's columns and describe pages, and the scheduler's volume filter over its caches."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apimachinery import storage
from apimachinery.defaults import apply_defaults
from apimachinery.informer import key_of
from apimachinery.validation import validate
from apiserver.admission.defaultstorageclass import default_class
from apiserver.printers.storage import access_modes, pv_row, pvc_row, storageclass_row
from cli import describe_storage
from scheduler.nodeinfo import NodeInfo
from scheduler.volumes import ERR_AFFINITY_CONFLICT, ERR_NO_VOLUME, ERR_UNBOUND_IMMEDIATE, VolumeBinding
from tests.factories import Obj

UID = "3f0c9a52-8f7e-4c1e-9f5e-0b8b1d7c2a11"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pv(name: str = "pv1", size: str = "2Gi", cls: str = "", **spec: Any) -> Obj:
    body = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": cls,
            "hostPath": {"path": "/srv/pv"}, **spec}  # fmt: skip
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": {"tier": "a"}},
            "spec": body}  # fmt: skip


def claim(
    size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), cls: str | None = "", **spec: Any
) -> Obj:
    body: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}
    if cls is not None:
        body["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "c", "namespace": "ns", "uid": UID}, "spec": body}  # fmt: skip


def sc(name: str = "lp", **extra: Any) -> Obj:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": storage.LOCAL_PATH_PROVISIONER, "volumeBindingMode": "WaitForFirstConsumer", **extra}  # fmt: skip


def node(name: str, root: str | None = "/var/lib/kubelite/local") -> Obj:
    md: Obj = {"name": name, "labels": {storage.HOSTNAME_LABEL: name}}
    if root:
        md["annotations"] = {storage.LOCAL_PATH_ROOT_ANNOTATION: root}
    return {"apiVersion": "v1", "kind": "Node", "metadata": md}


# ---- matching and pinning ------------------------------------------------------------------------------------


def test_mismatch_reasons() -> None:
    assert storage.mismatch(pv(), claim()) is None
    assert storage.mismatch(pv(size="512Mi"), claim()) == "capacity too small"
    assert storage.mismatch(pv(), claim(modes=("ReadWriteMany",))) == "access modes not offered"
    assert storage.mismatch(pv(cls="fast"), claim()) == "storage class differs"
    assert storage.mismatch(pv(), claim(volumeMode="Block")) == "volume mode differs"
    assert storage.mismatch(pv(), claim(selector={"matchLabels": {"tier": "b"}})) == "selector does not match"
    assert storage.mismatch(pv(), claim(selector={"matchLabels": {"tier": "a"}})) is None


def test_pinning() -> None:
    pinned = pv(nodeAffinity=storage.pin_to_node("n1"))
    assert storage.node_of(pinned) == "n1"
    assert storage.pv_allows_node(pinned, node("n1")) and not storage.pv_allows_node(pinned, node("n2"))
    assert storage.node_of(pv()) is None and storage.pv_allows_node(pv(), node("n2"))


# ---- paths ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["relative/x", "/a/../b", "/a/./b", "/a//b", "/a/b/", "//a", "/a\0b", 7, None]
)
def test_clean_absolute_refuses(path: Any) -> None:
    with pytest.raises(storage.PathError):
        storage.clean_absolute(path)


def test_local_path_for() -> None:
    assert storage.local_path_for("/r", f"pvc-{UID}") == f"/r/pvc-{UID}"
    with pytest.raises(storage.PathError):
        storage.local_path_for("/r/../etc", f"pvc-{UID}")
    with pytest.raises(storage.PathError):
        storage.local_path_for("/r", "../etc")


def test_check_local_path_on_the_node(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    inside = root / f"pvc-{UID}"
    assert storage.check_local_path(str(root), str(inside)) == str(inside)
    for outside in (str(tmp_path / "elsewhere"), str(root / "a" / "b"), str(root / "Bad_Name"), "/etc"):
        with pytest.raises(storage.PathError):
            storage.check_local_path(str(root), outside)
    # A link under the root that leads out of it is refused.
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "out", root / "escape")
    with pytest.raises(storage.PathError, match="outside"):
        storage.check_local_path(str(root), str(root / "escape"))
    # A root that is itself a link is resolved (the kubelet's root may be reached through one).
    os.symlink(root, tmp_path / "alias")
    assert storage.check_local_path(str(tmp_path / "alias"), str(tmp_path / "alias" / "v1")) == str(
        root / "v1"
    )


def test_local_path_refusal() -> None:
    assert storage.local_path_refusal(claim(), sc()) is None
    assert "ReadWriteMany" in (storage.local_path_refusal(claim(modes=("ReadWriteMany",)), sc()) or "")
    assert "Filesystem" in (storage.local_path_refusal(claim(volumeMode="Block"), sc()) or "")
    big = storage.local_path_refusal(claim("20Gi"), sc(parameters={"maxSize": "10Gi"}))
    assert big == "requested 20Gi is more than storage class lp allows (maxSize 10Gi)"
    assert "invalid maxSize" in (
        storage.local_path_refusal(claim(), sc(parameters={"maxSize": "lots"})) or ""
    )


# ---- validation and defaults ---------------------------------------------------------------------------------


def fields(obj: Obj, old: Obj | None = None) -> set[str]:
    apply_defaults(obj)
    return {c["field"] for c in validate(obj, old)}


def test_volume_validation() -> None:
    assert fields(pv()) == set()
    local = pv(local={"path": "/x"})
    del local["spec"]["hostPath"]
    assert fields(local) == {"spec.nodeAffinity"}
    both = pv(local={"path": "/x"}, nodeAffinity=storage.pin_to_node("n"))
    assert fields(both) == {"spec.local"}  # two volume types
    assert fields(pv(hostPath={"path": "/a/../etc"})) == {"spec.hostPath.path"}
    assert fields(pv(accessModes=["Sometimes"], persistentVolumeReclaimPolicy="Shred")) == {
        "spec.accessModes", "spec.persistentVolumeReclaimPolicy"}  # fmt: skip
    assert fields(pv(size="0")) == {"spec.capacity[storage]"}
    defaulted = pv()
    apply_defaults(defaulted)
    assert defaulted["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert defaulted["spec"]["volumeMode"] == "Filesystem"


def test_claim_validation_and_update_rules() -> None:
    assert fields(claim()) == set()
    assert fields(claim("-1")) == {"spec.resources.requests[storage]"}
    assert fields(claim(modes=())) == {"spec.accessModes"}
    assert fields(claim(modes=("ReadWriteOncePod", "ReadWriteOnce"))) == {"spec.accessModes"}
    old = claim()
    apply_defaults(old)
    bound = claim(volumeName="pv1")
    assert fields(bound, old) == set()  # volumeName set once
    old_bound = claim(volumeName="pv1")
    apply_defaults(old_bound)
    assert fields(claim(volumeName="pv2"), old_bound) == {"spec.volumeName"}
    assert fields(claim(modes=("ReadOnlyMany",)), old) == {"spec"}
    assert fields(claim("5Gi"), old) == set()  # requests may change


def test_storage_class_validation() -> None:
    assert fields(sc()) == set()
    assert fields(sc(volumeBindingMode="Later", reclaimPolicy="Recycle")) == {
        "volumeBindingMode",
        "reclaimPolicy",
    }
    assert fields(sc(provisioner="")) == {"provisioner"}
    assert fields(sc(parameters={"maxSize": 5})) == {"parameters"}
    assert fields(sc(reclaimPolicy="Retain"), sc()) == {"reclaimPolicy"}
    defaulted = sc()
    del defaulted["volumeBindingMode"]
    apply_defaults(defaulted)
    assert (defaulted["reclaimPolicy"], defaulted["volumeBindingMode"]) == ("Delete", "Immediate")


def test_default_class_is_the_newest_annotated() -> None:
    def cls(name: str, created: str, default: bool) -> Obj:
        annotations = {storage.DEFAULT_CLASS_ANNOTATION: "true"} if default else {}
        return {"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations}}

    assert default_class([]) is None
    assert default_class([cls("a", "2026-01-01T00:00:00Z", False)]) is None
    older, newer = cls("old", "2026-01-01T00:00:00Z", True), cls("new", "2026-01-02T00:00:00Z", True)
    assert default_class([newer, older]) == "new"
    beta = {"metadata": {"name": "beta", "annotations": {storage.BETA_DEFAULT_CLASS_ANNOTATION: "true"}}}
    assert default_class([beta]) == "beta"


# ---- kubectl's columns and describe --------------------------------------------------------------------------


def test_rows() -> None:
    assert access_modes(["ReadWriteOncePod", "ReadWriteOnce", "ReadOnlyMany"]) == "RWO,ROX,RWOP"
    volume = pv(claimRef={"namespace": "ns", "name": "c"}, persistentVolumeReclaimPolicy="Delete")
    volume["status"] = {"phase": "Bound"}
    cells, _ = pv_row(volume, NOW)
    assert cells[:9] == ["pv1", "2Gi", "RWO", "Delete", "Bound", "ns/c", "", "<unset>", ""]
    bound = claim(volumeName="pv1", cls="lp")
    bound["status"] = {"phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"]}
    cells, _ = pvc_row(bound, NOW)
    assert cells[:7] == ["c", "Bound", "pv1", "2Gi", "RWO", "lp", "<unset>"]
    pending = claim(cls="lp")
    pending["status"] = {"phase": "Pending"}
    assert pvc_row(pending, NOW)[0][:5] == ["c", "Pending", "", "", ""]
    default = sc(metadata={"name": "lp", "annotations": {storage.DEFAULT_CLASS_ANNOTATION: "true"}})
    assert storageclass_row(default, NOW)[0][:5] == ["lp (default)", storage.LOCAL_PATH_PROVISIONER, "Delete",
                                                     "WaitForFirstConsumer", False]  # fmt: skip


def test_describe_pages() -> None:
    volume = pv(local={"path": "/r/x"}, nodeAffinity=storage.pin_to_node("n1"))
    del volume["spec"]["hostPath"]
    page = describe_storage.pv_text(volume, [])
    assert "Term 0:" in page and "kubernetes.io/hostname in [n1]" in page and "Path:" in page
    users = describe_storage.claim_users(
        [{"metadata": {"name": "p"}, "spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "c"}}]}},
         {"metadata": {"name": "q"}, "spec": {"volumes": [{"emptyDir": {}}]}}], "c")  # fmt: skip
    assert users == ["p"]
    assert "Used By:       p" in describe_storage.pvc_text(claim(cls="lp"), users, [])
    assert "IsDefaultClass:        No" in describe_storage.storage_class_text(sc(), [])


# ---- the scheduler's volume filter ---------------------------------------------------------------------------


def binding_over(*objs: Obj) -> VolumeBinding:
    vb = VolumeBinding(client=None)  # type: ignore[arg-type]  # only the caches are used here
    stores = {"PersistentVolumeClaim": vb.claims, "PersistentVolume": vb.volumes, "StorageClass": vb.classes}
    for obj in objs:
        stores[obj["kind"]].store._put(key_of(obj), obj)
    return vb


def pod_with(claim_name: str) -> Obj:
    return {"metadata": {"name": "p", "namespace": "ns"},
            "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim_name}}]}}  # fmt: skip


def test_volume_filter() -> None:
    n1, n2 = NodeInfo("n1", node("n1")), NodeInfo("n2", node("n2", root=None))
    assert binding_over().filter_for(pod_with("c"))[0] == 'persistentvolumeclaim "c" not found'
    immediate = binding_over(claim(cls=""))
    assert immediate.filter_for(pod_with("c"))[0] == ERR_UNBOUND_IMMEDIATE
    # A bound claim: only the volume's node.
    volume = pv(nodeAffinity=storage.pin_to_node("n1"))
    bound = binding_over(claim(volumeName="pv1"), volume)
    reason, check = bound.filter_for(pod_with("c"))
    assert reason is None and check is not None
    assert check(n1) == [] and check(n2) == [ERR_AFFINITY_CONFLICT]
    # WaitForFirstConsumer: a node that can provision (publishes a root) or holds a matching volume.
    waiting = binding_over(claim(cls="lp"), sc())
    _, check = waiting.filter_for(pod_with("c"))
    assert check is not None and check(n1) == [] and check(n2) == [ERR_NO_VOLUME]
    too_big = binding_over(claim("5Gi", cls="lp"), sc(parameters={"maxSize": "1Gi"}))
    _, check = too_big.filter_for(pod_with("c"))
    assert check is not None and check(n1) == [ERR_NO_VOLUME]
    static = binding_over(
        claim(cls="lp"),
        sc(provisioner="example.com/none"),
        pv(cls="lp", nodeAffinity=storage.pin_to_node("n2")),
    )
    _, check = static.filter_for(pod_with("c"))
    assert check is not None and check(n2) == [] and check(n1) == [ERR_NO_VOLUME]
    selected = claim(cls="lp")
    selected["metadata"]["annotations"] = {storage.SELECTED_NODE: "n2"}
    _, check = binding_over(selected, sc()).filter_for(pod_with("c"))
    assert check is not None and check(n1) != []
