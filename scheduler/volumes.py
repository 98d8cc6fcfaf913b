"""The volume binding filter (kube-scheduler's VolumeBinding plugin, cut to what kubelite's storage offers).

For a pod's persistentVolumeClaim volumes, read from the claim, volume and class caches:
* a claim that does not exist, or is being deleted, makes the pod unschedulable everywhere;
* a bound claim: the node must satisfy its volume's nodeAffinity ("volume node affinity conflict");
* an unbound claim of an Immediate class (or none): the pod waits ("unbound immediate PersistentVolumeClaims");
* an unbound claim of a WaitForFirstConsumer class: the node must reach an Available volume that matches it, or
  the class's provisioner must be able to provision there (local-path: the node publishes a root); a claim that
  already names a selected node keeps the pod on that node.

After the decision and before the pod is bound, `select_node` writes `volume.kubernetes.io/selected-node` on the
pod's unbound WaitForFirstConsumer claims; the PV controller then binds or provisions on that node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apimachinery import storage
from apimachinery.client import Client
from apimachinery.informer import Informer
from apimachinery.resources import must_resource
from scheduler.nodeinfo import NodeInfo

Obj = dict[str, Any]
PVS = must_resource("", "persistentvolumes")
PVCS = must_resource("", "persistentvolumeclaims")
CLASSES = must_resource("storage.k8s.io", "storageclasses")

ERR_AFFINITY_CONFLICT = "node(s) had volume node affinity conflict"
ERR_NO_VOLUME = "node(s) didn't find available persistent volumes to bind"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
ERR_SELECTED_ELSEWHERE = "node(s) didn't match the node selected for the pod's volumes"

NodeFilter = Callable[[NodeInfo], list[str]]


def claim_names(pod: Obj) -> list[str]:
    out = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = ((volume or {}).get("persistentVolumeClaim") or {}).get("claimName")
        if name and name not in out:
            out.append(str(name))
    return out


class VolumeBinding:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.claims = Informer(client, PVCS)
        self.volumes = Informer(client, PVS)
        self.classes = Informer(client, CLASSES)

    @property
    def informers(self) -> tuple[Informer, ...]:
        return (self.claims, self.volumes, self.classes)

    def _class(self, claim: Obj) -> Obj | None:
        name = storage.class_of(claim)
        return self.classes.store.get(name) if name else None

    def _waits(self, claim: Obj) -> bool:
        sc = self._class(claim)
        return sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"

    def filter_for(self, pod: Obj) -> tuple[str | None, NodeFilter | None]:
        """(a reason no node can fit, None) or (None, a per-node filter) or (None, None) without claims."""
        namespace = (pod.get("metadata") or {}).get("namespace") or "default"
        bound: list[Obj] = []
        waiting: list[Obj] = []
        for name in claim_names(pod):
            claim = self.claims.store.get(f"{namespace}/{name}")
            if claim is None:
                return f'persistentvolumeclaim "{name}" not found', None
            if (claim.get("metadata") or {}).get("deletionTimestamp"):
                return f'persistentvolumeclaim "{name}" is being deleted', None
            volume_name = (claim.get("spec") or {}).get("volumeName")
            if volume_name:
                pv = self.volumes.store.get(volume_name)
                if pv is None:
                    return f'persistentvolume "{volume_name}" not found', None
                bound.append(pv)
            elif self._waits(claim):
                waiting.append(claim)
            else:
                return ERR_UNBOUND_IMMEDIATE, None
        if not bound and not waiting:
            return None, None
        return None, lambda node: self._node_reasons(bound, waiting, node)

    def _node_reasons(self, bound: list[Obj], waiting: list[Obj], node: NodeInfo) -> list[str]:
        if node.node is None:
            return ["node(s) not found"]
        if any(not storage.pv_allows_node(pv, node.node) for pv in bound):
            return [ERR_AFFINITY_CONFLICT]
        for claim in waiting:
            selected = ((claim.get("metadata") or {}).get("annotations") or {}).get(storage.SELECTED_NODE)
            if selected and selected != node.name:
                return [ERR_SELECTED_ELSEWHERE]
            if not self._can_bind_or_provision(claim, node.node):
                return [ERR_NO_VOLUME]
        return []

    def _can_bind_or_provision(self, claim: Obj, node: Obj) -> bool:
        for pv in self.volumes.store.list():
            spec = pv.get("spec") or {}
            if spec.get("claimRef") or (pv.get("metadata") or {}).get("deletionTimestamp"):
                continue
            if storage.matches(pv, claim) and storage.pv_allows_node(pv, node):
                return True
        sc = self._class(claim)
        if sc is None or sc.get("provisioner") != storage.LOCAL_PATH_PROVISIONER:
            return False
        root = ((node.get("metadata") or {}).get("annotations") or {}).get(storage.LOCAL_PATH_ROOT_ANNOTATION)
        return bool(root) and storage.local_path_refusal(claim, sc) is None

    async def select_node(self, pod: Obj, node: str) -> None:
        """Name the chosen node on the pod's unbound WaitForFirstConsumer claims (before the pod is bound)."""
        namespace = (pod.get("metadata") or {}).get("namespace") or "default"
        for name in claim_names(pod):
            claim = self.claims.store.get(f"{namespace}/{name}")
            if claim is None or (claim.get("spec") or {}).get("volumeName") or not self._waits(claim):
                continue
            annotations = (claim.get("metadata") or {}).get("annotations") or {}
            if annotations.get(storage.SELECTED_NODE) == node:
                continue
            patch = {"metadata": {"annotations": {storage.SELECTED_NODE: node}}}
            await self.client.patch(PVCS, name, patch, namespace)
