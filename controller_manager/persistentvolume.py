"""The PersistentVolume controller (kube-controller-manager's persistentvolume-binder): binds claims to volumes,
keeps both phases, provisions through the local-path provisioner, and reclaims released volumes.

Claims (key `claim:<ns>/<name>`):
* unbound: a volume pre-bound to it (spec.claimRef), else the smallest Available volume that `matches` it
  (class, volume mode, access modes, capacity, selector). A claim of a WaitForFirstConsumer class waits for the
  scheduler's `volume.kubernetes.io/selected-node` annotation and then only takes volumes that node can reach;
  when none fits and the class's provisioner is the local-path one, a volume is provisioned
  (controller_manager.localpath) pre-bound to the claim;
* binding writes the volume first (claimRef, phase Bound), then the claim (volumeName, phase Bound, capacity and
  access modes): a crash in between leaves a volume whose claimRef the next sync completes;
* a claim whose volume is gone is Lost.

Volumes (key `volume:<name>`): without claimRef Available; bound to a claim that exists Bound; bound to a claim
that is gone (checked against the API, not only the cache) Released, then reclaimed: Retain keeps it, Delete
deletes the object (a local-path volume's directory is removed by its node, which holds a finalizer until then);
a Delete volume this cluster cannot delete (not provisioned here) and Recycle become Failed.
"""

from __future__ import annotations

import copy
import logging

from apimachinery import storage
from apimachinery.errors import StatusError, is_conflict, is_not_found
from apimachinery.resources import must_resource
from controller_manager import localpath
from controller_manager.base import NODES, PVCS, PVS, Context, Controller
from controller_manager.podutil import Obj, is_terminating

log = logging.getLogger(__name__)

CLASSES = must_resource("storage.k8s.io", "storageclasses")


def _meta(obj: Obj) -> Obj:
    return obj.setdefault("metadata", {})


def claim_key(claim: Obj) -> str:
    return f"claim:{claim['metadata'].get('namespace', '')}/{claim['metadata']['name']}"


def refers_to(pv: Obj, claim: Obj) -> bool:
    """Whether the volume's claimRef names this claim (and this very claim, when it carries a uid)."""
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    md = claim["metadata"]
    if ref.get("name") != md["name"] or ref.get("namespace") != md.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == md.get("uid")


class PersistentVolumeController(Controller):
    name = "persistentvolume-binder"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pvs = self.watch(PVS, self._on_pv)
        self.claims = self.watch(PVCS, self._on_claim)
        self.classes = self.watch(CLASSES, lambda _sc: self._all_pending(), on_update=None, on_delete=None)
        self.nodes = ctx.factory.informer(NODES)

    def _on_pv(self, pv: Obj) -> None:
        self.enqueue(f"volume:{pv['metadata']['name']}")
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if ref.get("name"):
            self.enqueue(f"claim:{ref.get('namespace', '')}/{ref['name']}")
        elif (pv.get("status") or {}).get("phase") in ("Available", "Pending", None):
            self._all_pending()

    def _on_claim(self, claim: Obj) -> None:
        self.enqueue(claim_key(claim))
        name = (claim.get("spec") or {}).get("volumeName")
        if name:
            self.enqueue(f"volume:{name}")
        for pv in self.pvs.store.list():
            if refers_to(pv, claim):
                self.enqueue(f"volume:{pv['metadata']['name']}")

    def _all_pending(self) -> None:
        for claim in self.claims.store.list():
            if not (claim.get("spec") or {}).get("volumeName"):
                self.enqueue(claim_key(claim))

    async def reconcile(self, key: str) -> float | None:
        kind, _, rest = key.partition(":")
        if kind == "claim":
            namespace, _, name = rest.partition("/")
            claim = self.claims.store.get(f"{namespace}/{name}")
            return await self.sync_claim(copy.deepcopy(claim)) if claim is not None else None
        pv = self.pvs.store.get(rest)
        return await self.sync_volume(copy.deepcopy(pv)) if pv is not None else None

    # ---- claims ----------------------------------------------------------------------------------------------

    def storage_class(self, name: str) -> Obj | None:
        return self.classes.store.get(name) if name else None

    async def sync_claim(self, claim: Obj) -> float | None:
        if is_terminating(claim):
            return None
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if volume_name:
            return await self._sync_bound_claim(claim, volume_name)
        pv = self.find_volume(claim)
        if pv is not None:
            await self.bind(pv, claim)
            return None
        sc = self.storage_class(storage.class_of(claim))
        local = sc is not None and sc.get("provisioner") == storage.LOCAL_PATH_PROVISIONER
        why = storage.local_path_refusal(claim, sc) if sc is not None and local else None
        if why is not None:  # said at once, not only when a pod comes
            self.recorder.event(claim, "Warning", "ProvisioningFailed", why)
            return None
        if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            if not _meta(claim).get("annotations", {}).get(storage.SELECTED_NODE):
                self.recorder.event(
                    claim, "Normal", "WaitForFirstConsumer",
                    "waiting for first consumer to be created before binding",
                )  # fmt: skip
                return None
        if sc is not None and local:
            await localpath.provision(self, claim, sc)
        elif sc is None and storage.class_of(claim):
            self.recorder.event(
                claim, "Warning", "ProvisioningFailed", f'storageclass.storage.k8s.io "{storage.class_of(claim)}" not found'
            )  # fmt: skip
        else:
            self.recorder.event(
                claim, "Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set"
            )  # fmt: skip
        return None

    def find_volume(self, claim: Obj) -> Obj | None:
        """A volume pre-bound to the claim, else the smallest matching Available one (on the selected node)."""
        node = self.nodes.store.get(_meta(claim).get("annotations", {}).get(storage.SELECTED_NODE) or "")
        best: Obj | None = None
        for pv in self.pvs.store.list():
            if is_terminating(pv):
                continue
            ref = (pv.get("spec") or {}).get("claimRef")
            if ref and refers_to(pv, claim):
                return copy.deepcopy(pv)
            if ref or not storage.matches(pv, claim):
                continue
            if node is not None and not storage.pv_allows_node(pv, node):
                continue
            if best is None or storage.pv_capacity(pv) < storage.pv_capacity(best):
                best = pv
        return copy.deepcopy(best) if best is not None else None

    async def bind(self, pv: Obj, claim: Obj) -> None:
        """Volume first, then claim (each write retried from scratch by the next sync on a conflict)."""
        spec = pv.setdefault("spec", {})
        if not refers_to(pv, claim) or not (spec.get("claimRef") or {}).get("uid"):
            spec["claimRef"] = storage.claim_ref(claim)
            _meta(pv).setdefault("annotations", {})[storage.BOUND_BY_CONTROLLER] = "yes"
            pv = await self.client.update(PVS, pv)
        if (pv.get("status") or {}).get("phase") != "Bound":
            pv["status"] = {**(pv.get("status") or {}), "phase": "Bound"}
            pv = await self.client.update(PVS, pv, subresource="status")
        claim.setdefault("spec", {})["volumeName"] = pv["metadata"]["name"]
        annotations = _meta(claim).setdefault("annotations", {})
        annotations[storage.BIND_COMPLETED] = "yes"
        annotations.setdefault(storage.BOUND_BY_CONTROLLER, "yes")
        claim = await self.client.update(PVCS, claim)
        await self._claim_bound_status(claim, pv)
        self.recorder.event(claim, "Normal", "Bound", f"bound to volume {pv['metadata']['name']}")

    async def _claim_bound_status(self, claim: Obj, pv: Obj) -> None:
        pv_spec = pv.get("spec") or {}
        want = {
            **(claim.get("status") or {}),
            "phase": "Bound",
            "accessModes": list(pv_spec.get("accessModes") or []),
            "capacity": dict(pv_spec.get("capacity") or {}),
        }
        if claim.get("status") != want:
            claim["status"] = want
            await self.client.update(PVCS, claim, subresource="status")

    async def _sync_bound_claim(self, claim: Obj, volume_name: str) -> float | None:
        pv = self.pvs.store.get(volume_name)
        if pv is None:
            if (claim.get("status") or {}).get("phase") == "Bound":
                claim["status"] = {**claim["status"], "phase": "Lost"}
                await self.client.update(PVCS, claim, subresource="status")
                self.recorder.event(
                    claim, "Warning", "ClaimLost", "Bound claim has lost its PersistentVolume."
                )
            return None
        pv = copy.deepcopy(pv)
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref and not refers_to(pv, claim):
            self.recorder.event(
                claim, "Warning", "FailedBinding", "volume already bound to a different claim."
            )
            return None
        if not ref or not ref.get("uid") or (pv.get("status") or {}).get("phase") != "Bound":
            await self.bind(pv, claim)
            return None
        await self._claim_bound_status(claim, pv)
        return None

    # ---- volumes ---------------------------------------------------------------------------------------------

    async def _claim_of(self, pv: Obj) -> Obj | None:
        """The claim the volume is bound to, from the cache or, when the cache has none, from the API."""
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        cached = self.claims.store.get(f"{ref.get('namespace', '')}/{ref.get('name', '')}")
        if cached is not None:
            return cached
        try:
            return await self.client.get(PVCS, ref.get("name", ""), ref.get("namespace", ""))  # type: ignore[no-any-return]
        except StatusError as err:
            if is_not_found(err):
                return None
            raise

    async def _set_phase(self, pv: Obj, phase: str, message: str = "", reason: str = "") -> Obj:
        status = {
            "phase": phase,
            **({"message": message} if message else {}),
            **({"reason": reason} if reason else {}),
        }
        if (pv.get("status") or {}).get("phase") == phase and (pv.get("status") or {}).get(
            "message", ""
        ) == message:
            return pv
        pv["status"] = {
            **{k: v for k, v in (pv.get("status") or {}).items() if k == "lastPhaseTransitionTime"},
            **status,
        }
        return await self.client.update(PVS, pv, subresource="status")  # type: ignore[no-any-return]

    async def sync_volume(self, pv: Obj) -> float | None:
        if is_terminating(pv):
            return None
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref:
            await self._set_phase(pv, "Available")
            return None
        claim = await self._claim_of(pv)
        if claim is not None and (not ref.get("uid") or ref.get("uid") == claim["metadata"].get("uid")):
            bound = (claim.get("spec") or {}).get("volumeName") == pv["metadata"]["name"]
            if bound:
                await self._set_phase(pv, "Bound")
            elif not ref.get("uid"):
                await self._set_phase(pv, "Available")  # pre-bound by its author: the claim's sync binds it
            return None
        if not ref.get("uid"):
            await self._set_phase(pv, "Available")  # pre-bound to a claim not yet created
            return None
        if (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
            pv = await self._set_phase(pv, "Released")
        await self.reclaim(pv)
        return None

    async def reclaim(self, pv: Obj) -> None:
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        name = pv["metadata"]["name"]
        if policy == "Retain" or (pv.get("status") or {}).get("phase") == "Failed":
            return
        provisioned_by = _meta(pv).get("annotations", {}).get(storage.PROVISIONED_BY)
        if policy == "Delete" and provisioned_by == storage.LOCAL_PATH_PROVISIONER:
            try:
                await self.client.delete(PVS, name, preconditions={"uid": pv["metadata"]["uid"]})
            except StatusError as err:
                if not (is_not_found(err) or is_conflict(err)):
                    raise
            self.recorder.event(pv, "Normal", "VolumeDelete", f"deleting volume {name}: its claim is gone")
            return
        why = (
            f"no volume plugin matched name: {provisioned_by}" if policy == "Delete" and provisioned_by
            else "error getting deleter volume plugin for volume: no deletable volume plugin matched"
            if policy == "Delete" else "Recycle is not supported"
        )  # fmt: skip
        await self._set_phase(
            pv, "Failed", why, "VolumeFailedDelete" if policy == "Delete" else "VolumeFailedRecycle"
        )
        self.recorder.event(
            pv, "Warning", "VolumeFailedDelete" if policy == "Delete" else "VolumeFailedRecycle", why
        )
