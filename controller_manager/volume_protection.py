"""The pvc-protection and pv-protection controllers: the `kubernetes.io/pvc-protection` finalizer keeps a claim that
a pod still uses from going away, `kubernetes.io/pv-protection` a volume that is still bound.

Both finalizers are set when the object is created (apiserver.strategy.VolumeStrategy). Once the object is being
deleted, the finalizer is removed when it is safe:
* a claim, when no pod of its namespace that has not finished (phase Succeeded/Failed) names it in a
  persistentVolumeClaim volume; the pod cache is checked, then the API (the cache may not yet have a new pod);
* a volume, when its phase is not Bound.
Removal is an update with the object's resourceVersion, so a finalizer added meanwhile is never lost.
"""

from __future__ import annotations

import copy

from apimachinery import storage
from controller_manager.base import PODS, PVCS, PVS, Context, Controller
from controller_manager.podutil import Obj, is_terminating


def claims_of(pod: Obj) -> set[str]:
    names = set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = (volume or {}).get("persistentVolumeClaim") or {}
        if claim.get("claimName"):
            names.add(str(claim["claimName"]))
    return names


def pod_uses(pod: Obj, claim_name: str) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and claim_name in claims_of(
        pod
    )


def without(obj: Obj, finalizer: str) -> Obj:
    out = copy.deepcopy(obj)
    out["metadata"]["finalizers"] = [f for f in out["metadata"].get("finalizers") or [] if f != finalizer]
    return out


def _held(obj: Obj, finalizer: str) -> bool:
    """Deleted, and waiting for us to release `finalizer`."""
    return is_terminating(obj) and finalizer in (obj["metadata"].get("finalizers") or [])


class VolumeProtectionController(Controller):
    name = "volume-protection"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pvs = self.watch(PVS, self._on_pv, on_delete=None)
        self.claims = self.watch(PVCS, self._on_claim, on_delete=None)
        self.pods = self.watch(PODS, on_update=lambda old, _new: self._on_pod(old), on_delete=self._on_pod)

    def _on_pv(self, pv: Obj) -> None:
        if _held(pv, storage.PV_PROTECTION):
            self.enqueue(f"volume:{pv['metadata']['name']}")

    def _on_claim(self, claim: Obj) -> None:
        if _held(claim, storage.PVC_PROTECTION):
            self.enqueue(f"claim:{claim['metadata'].get('namespace', '')}/{claim['metadata']['name']}")

    def _on_pod(self, pod: Obj) -> None:
        """A pod that finished or went away may free its claims."""
        namespace = pod["metadata"].get("namespace", "")
        for name in claims_of(pod):
            claim = self.claims.store.get(f"{namespace}/{name}")
            if claim is not None:
                self._on_claim(claim)

    async def reconcile(self, key: str) -> float | None:
        kind, _, rest = key.partition(":")
        if kind == "volume":
            pv = self.pvs.store.get(rest)
            if pv is None or not _held(pv, storage.PV_PROTECTION):
                return None
            if (pv.get("status") or {}).get("phase") != "Bound":
                await self.client.update(PVS, without(pv, storage.PV_PROTECTION))
            return None
        namespace, _, name = rest.partition("/")
        claim = self.claims.store.get(rest)
        if claim is None or not _held(claim, storage.PVC_PROTECTION):
            return None
        if any(
            pod_uses(p, name) for p in self.pods.store.list() if p["metadata"].get("namespace") == namespace
        ):
            return None
        live = await self.client.list(PODS, namespace)
        if any(pod_uses(p, name) for p in live["items"]):
            return 2.0  # a pod the cache has not seen yet: look again
        await self.client.update(PVCS, without(claim, storage.PVC_PROTECTION))
        return None
