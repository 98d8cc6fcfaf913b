"""The local-path provisioner's cluster side: the PersistentVolume object for a claim of a `kubelite.io/local-path`
class, once the scheduler has chosen the claim's node (WaitForFirstConsumer).

The volume is `pvc-<claim uid>`, at `<root>/pvc-<claim uid>` on that node, where `<root>` is what the node's
kubelet publishes in its `kubelite.io/local-path-root` annotation (checked here: a clean absolute path), pinned to
the node by nodeAffinity and pre-bound to the claim. Its directory is made and removed by that node's kubelet
(kubelet/localpath.py), which checks the path again against its own root: this side never touches a filesystem.

What a class offers is refused with a ProvisioningFailed event on the claim: access modes other than
ReadWriteOnce/ReadWriteOncePod, block volumes, and a request above the class's `maxSize` parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apimachinery import storage
from apimachinery.errors import StatusError, is_already_exists
from controller_manager.base import PVS
from controller_manager.podutil import Obj

if TYPE_CHECKING:
    from controller_manager.persistentvolume import PersistentVolumeController


def volume_for(claim: Obj, sc: Obj, node: Obj) -> Obj:
    """The PV for `claim` on `node` (storage.PathError if the node's root is not a clean absolute path)."""
    name = f"pvc-{claim['metadata']['uid']}"
    root = ((node.get("metadata") or {}).get("annotations") or {}).get(storage.LOCAL_PATH_ROOT_ANNOTATION)
    if not root:
        raise storage.PathError(f"node {node['metadata']['name']} publishes no local-path root")
    spec = claim.get("spec") or {}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {storage.PROVISIONED_BY: storage.LOCAL_PATH_PROVISIONER}},
        "spec": {
            "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage")},
            "accessModes": list(spec.get("accessModes") or []),
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
            "storageClassName": sc["metadata"]["name"],
            "volumeMode": "Filesystem",
            "local": {"path": storage.local_path_for(root, name)},
            "nodeAffinity": storage.pin_to_node(node["metadata"]["name"]),
            "claimRef": storage.claim_ref(claim),
        },
    }


async def provision(ctl: PersistentVolumeController, claim: Obj, sc: Obj) -> None:
    why = storage.local_path_refusal(claim, sc)
    node_name = ((claim.get("metadata") or {}).get("annotations") or {}).get(storage.SELECTED_NODE)
    if why is None and not node_name:
        why = "the local-path provisioner needs volumeBindingMode WaitForFirstConsumer (no node selected)"
    node = ctl.nodes.store.get(node_name or "") if why is None else None
    if why is None and node is None:
        why = f"selected node {node_name} not found"
    if why is None and node is not None:
        try:
            pv = volume_for(claim, sc, node)
        except storage.PathError as exc:
            why = str(exc)
    if why is not None:
        ctl.recorder.event(claim, "Warning", "ProvisioningFailed", why)
        return
    try:
        await ctl.client.create(PVS, pv)
    except StatusError as err:
        if not is_already_exists(err):
            raise
    ctl.recorder.event(
        claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {pv['metadata']['name']}"
    )
