"""PersistentVolumes, claims and StorageClasses, with kubectl's columns (`kubectl get pv,pvc,sc`)."""

from __future__ import annotations

from datetime import datetime

from apimachinery.storage import is_default_class
from apiserver.printers.common import Obj, Row, age, columns, name_of

PV_COLUMNS = columns(
    """
    Name
    Capacity: capacity is the description of the persistent volume's resources and capacity.
    Access Modes: accessModes contains all ways the volume can be mounted.
    Reclaim Policy: persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.
    Status: phase indicates if a volume is available, bound to a claim, or released by a claim.
    Claim: claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.
    StorageClass: StorageClass of the pv
    VolumeAttributesClass: VolumeAttributesClass of the pv
    Reason: reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.
    Age
    VolumeMode [wide]: volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.
"""
)
PVC_COLUMNS = columns(
    """
    Name
    Status: phase represents the current phase of PersistentVolumeClaim.
    Volume: volumeName is the binding reference to the PersistentVolume backing this claim.
    Capacity: capacity represents the actual resources of the underlying volume.
    Access Modes: accessModes contains the actual access modes the volume backing the PVC has.
    StorageClass: StorageClass of the pvc
    VolumeAttributesClass: VolumeAttributesClass of the pvc
    Age
    VolumeMode [wide]: volumeMode defines what type of volume is required by the claim.
"""
)
STORAGECLASS_COLUMNS = columns(
    """
    Name
    Provisioner: provisioner indicates the type of the provisioner.
    ReclaimPolicy: reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.
    VolumeBindingMode: volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.
    AllowVolumeExpansion: allowVolumeExpansion shows whether the storage class allow volume expand.
    Age
"""
)
_SHORT_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def access_modes(modes: list[str] | None) -> str:
    """kubectl's short form, in its fixed order: RWO,ROX,RWX,RWOP."""
    present = set(modes or ())
    return ",".join(short for mode, short in _SHORT_MODES.items() if mode in present)


def _phase(obj: Obj) -> str:
    """status.phase, or Terminating once the object is being deleted (as kubectl prints volumes and claims)."""
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return str((obj.get("status") or {}).get("phase") or "")


def pv_row(pv: Obj, now: datetime) -> Row:
    spec, status = pv.get("spec") or {}, pv.get("status") or {}
    ref = spec.get("claimRef") or {}
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    phase = _phase(pv)
    cells = [
        name_of(pv),
        str((spec.get("capacity") or {}).get("storage") or ""),
        access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy") or "",
        phase,
        claim,
        spec.get("storageClassName") or "",
        spec.get("volumeAttributesClassName") or "<unset>",
        status.get("reason") or "",
        age(pv, now),
        spec.get("volumeMode") or "<unset>",
    ]
    return cells, None


def pvc_row(claim: Obj, now: datetime) -> Row:
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    phase = _phase(claim)
    bound = bool(spec.get("volumeName")) and phase in ("Bound", "Terminating")
    cells = [
        name_of(claim),
        phase,
        spec.get("volumeName") or "",
        str((status.get("capacity") or {}).get("storage") or "") if bound else "",
        access_modes(status.get("accessModes")) if bound else "",
        spec.get("storageClassName") or "",
        spec.get("volumeAttributesClassName") or "<unset>",
        age(claim, now),
        spec.get("volumeMode") or "<unset>",
    ]
    return cells, None


def storageclass_row(sc: Obj, now: datetime) -> Row:
    name = name_of(sc) + (" (default)" if is_default_class(sc) else "")
    cells = [
        name,
        sc.get("provisioner") or "",
        sc.get("reclaimPolicy") or "Delete",
        sc.get("volumeBindingMode") or "Immediate",
        bool(sc.get("allowVolumeExpansion")),
        age(sc, now),
    ]
    return cells, None
