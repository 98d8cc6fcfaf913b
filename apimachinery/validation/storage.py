"""Validation and defaults of PersistentVolumes, PersistentVolumeClaims and StorageClasses (Kubernetes'
`ValidatePersistentVolume`, `ValidatePersistentVolumeClaim`, `ValidateStorageClass` and their update rules, with
the messages kubectl shows).

A PV's hostPath and local paths reach the node's filesystem: they must be clean absolute paths here, and the
kubelet checks a local path again against its volume root (apimachinery.storage.check_local_path).
"""

from __future__ import annotations

import posixpath
from typing import Any

from apimachinery.validation.common import (
    Errs,
    Obj,
    _enum,
    _map,
    forbidden,
    invalid,
    not_supported,
    required,
    validate_label_selector,
)
from apimachinery.validation.pods import _quantity
from apimachinery.validation.syntax import is_dns1123_subdomain, is_qualified_name

NameCheck = Any

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
VOLUME_MODES = ("Filesystem", "Block")


class PathError(ValueError):
    """A volume path that is not a clean absolute path, or lies outside the root it must stay under."""


def clean_absolute(path: Any) -> str:
    """`path` if it is a normalized absolute path (no `..`, `.`, `//`, trailing `/`, NUL), else PathError."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise PathError(f"path {path!r} must be an absolute path")
    if posixpath.normpath(path) != path or path.startswith("//") or ".." in path.split("/"):
        raise PathError(f"path {path!r} must be a normalized path without '..'")
    return path


# The volume sources a PV may name (each is one key of spec); the kubelet mounts hostPath and local.
PV_SOURCES = (
    "hostPath", "local", "nfs", "iscsi", "csi", "fc", "cephfs", "rbd", "cinder", "azureDisk", "azureFile",
    "flexVolume", "glusterfs", "portworxVolume", "scaleIO", "storageos", "vsphereVolume", "quobyte",
    "photonPersistentDisk", "awsElasticBlockStore", "gcePersistentDisk", "flocker",
)  # fmt: skip


def _access_modes(spec: Obj, path: str, errs: Errs) -> None:
    modes = spec.get("accessModes")
    if not modes:
        errs.append(required(f"{path}.accessModes", ""))
        return
    if not isinstance(modes, list):
        errs.append(invalid(f"{path}.accessModes", modes, "must be a list"))
        return
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.append(not_supported(f"{path}.accessModes", mode, list(ACCESS_MODES)))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.append(forbidden(f"{path}.accessModes", "may not use ReadWriteOncePod with other access modes"))


def _storage(resources: Obj, path: str, errs: Errs) -> None:
    value = resources.get("storage")
    if value is None:
        errs.append(required(f"{path}[storage]", ""))
        return
    amount = _quantity(value, f"{path}[storage]", errs)
    if amount is not None and amount <= 0:
        errs.append(invalid(f"{path}[storage]", value, "must be greater than zero"))


def _path(value: Any, path: str, errs: Errs) -> None:
    try:
        clean_absolute(value)
    except PathError as exc:
        errs.append(invalid(path, value, str(exc)))


def validate_pv(obj: Obj, errs: Errs) -> None:
    spec = _map(obj, "spec", "spec", errs)
    _access_modes(spec, "spec", errs)
    _storage(_map(spec, "capacity", "spec.capacity", errs), "spec.capacity", errs)
    _enum(
        spec,
        "persistentVolumeReclaimPolicy",
        "spec.persistentVolumeReclaimPolicy",
        list(RECLAIM_POLICIES),
        errs,
    )
    _enum(spec, "volumeMode", "spec.volumeMode", list(VOLUME_MODES), errs)
    sources = [key for key in PV_SOURCES if spec.get(key) is not None]
    if not sources:
        errs.append(required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        errs.append(forbidden(f"spec.{sources[1]}", "may not specify more than 1 volume type"))
    if spec.get("hostPath") is not None:
        _path(_map(spec, "hostPath", "spec.hostPath", errs).get("path"), "spec.hostPath.path", errs)
    if spec.get("local") is not None:
        _path(_map(spec, "local", "spec.local", errs).get("path"), "spec.local.path", errs)
        if not (spec.get("nodeAffinity") or {}).get("required"):
            errs.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    class_name = spec.get("storageClassName")
    if class_name:
        errs.extend(
            invalid("spec.storageClassName", class_name, m) for m in is_dns1123_subdomain(str(class_name))
        )


def validate_pv_update(new: Obj, old: Obj, errs: Errs) -> None:
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for source in PV_SOURCES:
        if source in old_spec and spec.get(source) != old_spec.get(source):
            errs.append(
                forbidden(f"spec.{source}", "spec.persistentvolumesource is immutable after creation")
            )
    if old_spec.get("nodeAffinity") and spec.get("nodeAffinity") != old_spec.get("nodeAffinity"):
        errs.append(invalid("spec.nodeAffinity", "", "field is immutable once set"))


def validate_pvc(obj: Obj, errs: Errs) -> None:
    spec = _map(obj, "spec", "spec", errs)
    _access_modes(spec, "spec", errs)
    resources = _map(spec, "resources", "spec.resources", errs)
    _storage(_map(resources, "requests", "spec.resources.requests", errs), "spec.resources.requests", errs)
    _enum(spec, "volumeMode", "spec.volumeMode", list(VOLUME_MODES), errs)
    if spec.get("selector") is not None:
        validate_label_selector(_map(spec, "selector", "spec.selector", errs), "spec.selector", errs)
    class_name = spec.get("storageClassName")
    if class_name:
        errs.extend(
            invalid("spec.storageClassName", class_name, m) for m in is_dns1123_subdomain(str(class_name))
        )


_CLAIM_MUTABLE = ("resources", "volumeName", "storageClassName", "volumeAttributesClassName")


def validate_pvc_update(new: Obj, old: Obj, errs: Errs) -> None:
    """A claim's spec is immutable but for its requests, a volumeName set once, and a class set once."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    frozen = {k: v for k, v in spec.items() if k not in _CLAIM_MUTABLE}
    if frozen != {k: v for k, v in old_spec.items() if k not in _CLAIM_MUTABLE}:
        errs.append(forbidden("spec", "spec is immutable after creation except resources.requests"))
    for key in ("volumeName", "storageClassName"):
        if old_spec.get(key) and spec.get(key) != old_spec.get(key):
            errs.append(forbidden(f"spec.{key}", "field is immutable once set"))


def validate_storage_class(obj: Obj, errs: Errs) -> None:
    provisioner = obj.get("provisioner")
    if not provisioner:
        errs.append(required("provisioner", ""))
    else:
        errs.extend(invalid("provisioner", provisioner, m) for m in is_qualified_name(str(provisioner)))
    _enum(obj, "reclaimPolicy", "reclaimPolicy", ["Delete", "Retain"], errs)
    _enum(obj, "volumeBindingMode", "volumeBindingMode", list(BINDING_MODES), errs)
    parameters = obj.get("parameters")
    if parameters is not None and not (
        isinstance(parameters, dict) and all(isinstance(v, str) for v in parameters.values())
    ):
        errs.append(invalid("parameters", parameters, "must be a map of strings"))


def validate_storage_class_update(new: Obj, old: Obj, errs: Errs) -> None:
    for key in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
        if new.get(key) != old.get(key):
            errs.append(forbidden(key, "updates to " + key + " are forbidden."))


def default_pv(pv: Obj) -> None:
    spec = pv.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")


def default_pvc(claim: Obj) -> None:
    spec = claim.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")


def default_storage_class(sc: Obj) -> None:
    sc.setdefault("reclaimPolicy", "Delete")
    sc.setdefault("volumeBindingMode", "Immediate")


KINDS: dict[tuple[str, str], tuple[NameCheck, Any, Any]] = {
    ("", "PersistentVolume"): (is_dns1123_subdomain, validate_pv, validate_pv_update),
    ("", "PersistentVolumeClaim"): (is_dns1123_subdomain, validate_pvc, validate_pvc_update),
    ("storage.k8s.io", "StorageClass"): (
        is_dns1123_subdomain,
        validate_storage_class,
        validate_storage_class_update,
    ),
}
DEFAULTERS = {
    ("", "PersistentVolume"): default_pv,
    ("", "PersistentVolumeClaim"): default_pvc,
    ("storage.k8s.io", "StorageClass"): default_storage_class,
}
