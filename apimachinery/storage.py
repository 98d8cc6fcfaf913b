"""What the storage parts share: PersistentVolumes, claims and StorageClasses as the PV controller, the scheduler's
volume filter, the kubelet and the admission read them.

* `matches(pv, claim)`: whether a volume can satisfy a claim (class, access modes, capacity, selector, mode);
* `node_of(pv)`: the one node a volume's nodeAffinity pins it to, `pv_allows_node(pv, node)` in general;
* `is_default_class(sc)`: the is-default-class annotation, as kube-apiserver reads it;
* the local-path provisioner's names, and `local_path_for(root, pv_name)` / `check_local_path(root, path)`:
  the directory of a provisioned volume, built from a checked root and name and checked again where it is used.
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any

from apimachinery.nodeselection import match_node_selector
from apimachinery.validation.common import selector_matches
from apimachinery.validation.quantity import parse_quantity
from apimachinery.validation.storage import (
    ACCESS_MODES,
    BINDING_MODES,
    RECLAIM_POLICIES,
    VOLUME_MODES,
    PathError,
    clean_absolute,
)
from apimachinery.validation.syntax import is_dns1123_subdomain

__all__ = ["ACCESS_MODES", "BINDING_MODES", "RECLAIM_POLICIES", "VOLUME_MODES", "PathError", "clean_absolute"]

Obj = dict[str, Any]


DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
HOSTNAME_LABEL = "kubernetes.io/hostname"

# The local-path provisioner: its name in StorageClass.provisioner, the Node annotation by which a kubelet
# publishes the root its volumes live under, and the finalizer the node holds on a PV whose directory exists.
LOCAL_PATH_PROVISIONER = "kubelite.io/local-path"
LOCAL_PATH_ROOT_ANNOTATION = "kubelite.io/local-path-root"
LOCAL_PATH_FINALIZER = "kubelite.io/local-path-directory"
LOCAL_PATH_CLASS = "local-path"
LOCAL_PATH_ACCESS_MODES = ("ReadWriteOnce", "ReadWriteOncePod")
LOCAL_PATH_MAX_SIZE = "maxSize"  # a StorageClass parameter: the largest claim the class provisions
_PV_NAME = re.compile(r"pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def storage_bytes(value: Any) -> float:
    """A storage quantity in bytes; 0 for a missing or malformed one (validation refuses those at the API)."""
    try:
        return parse_quantity(value) if value is not None else 0.0
    except ValueError:
        return 0.0


def claim_request(claim: Obj) -> float:
    return storage_bytes(
        (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    )


def pv_capacity(pv: Obj) -> float:
    return storage_bytes(((pv.get("spec") or {}).get("capacity") or {}).get("storage"))


def class_of(obj: Obj) -> str:
    """The storageClassName of a PV or claim ("" = none)."""
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def claim_ref(claim: Obj) -> Obj:
    """The ObjectReference a bound PV keeps in spec.claimRef."""
    md = claim["metadata"]
    return {
        "kind": "PersistentVolumeClaim",
        "apiVersion": "v1",
        "namespace": md.get("namespace", ""),
        "name": md["name"],
        "uid": md.get("uid", ""),
        "resourceVersion": md.get("resourceVersion", ""),
    }


def is_default_class(sc: Obj) -> bool:
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return "true" in (
        annotations.get(DEFAULT_CLASS_ANNOTATION),
        annotations.get(BETA_DEFAULT_CLASS_ANNOTATION),
    )


def mismatch(pv: Obj, claim: Obj) -> str | None:
    """Why `pv` cannot satisfy `claim` (None when it can): class, volume mode, access modes, size, selector."""
    spec, cspec = pv.get("spec") or {}, claim.get("spec") or {}
    if class_of(pv) != class_of(claim):
        return "storage class differs"
    if (spec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
        return "volume mode differs"
    offered = set(spec.get("accessModes") or ())
    if not set(cspec.get("accessModes") or ()) <= offered:
        return "access modes not offered"
    if pv_capacity(pv) < claim_request(claim):
        return "capacity too small"
    selector = cspec.get("selector")
    if selector and not selector_matches(selector, (pv.get("metadata") or {}).get("labels") or {}):
        return "selector does not match"
    return None


def matches(pv: Obj, claim: Obj) -> bool:
    return mismatch(pv, claim) is None


def local_path_refusal(claim: Obj, sc: Obj) -> str | None:
    """Why the class cannot provision this claim at all (None when it can)."""
    spec = claim.get("spec") or {}
    modes = [m for m in spec.get("accessModes") or [] if m not in LOCAL_PATH_ACCESS_MODES]
    if modes:
        return (
            f"the local-path provisioner offers only ReadWriteOnce and ReadWriteOncePod access modes, "
            f"not {', '.join(modes)}"
        )
    if (spec.get("volumeMode") or "Filesystem") != "Filesystem":
        return "the local-path provisioner offers only Filesystem volumes"
    limit = (sc.get("parameters") or {}).get(LOCAL_PATH_MAX_SIZE)
    if limit:
        try:
            too_big = claim_request(claim) > parse_quantity(limit)
        except ValueError:
            return f"storage class {sc['metadata']['name']} has an invalid {LOCAL_PATH_MAX_SIZE} {limit!r}"
        if too_big:
            requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
            return f"requested {requested} is more than storage class {sc['metadata']['name']} allows ({LOCAL_PATH_MAX_SIZE} {limit})"
    return None


def pv_allows_node(pv: Obj, node: Obj) -> bool:
    """Whether the PV's nodeAffinity admits the node (a PV without one is reachable from every node)."""
    required = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")) or None
    if not required:
        return True
    md = node.get("metadata") or {}
    return match_node_selector(required, md.get("labels") or {}, str(md.get("name") or ""))


def node_of(pv: Obj) -> str | None:
    """The node a PV is pinned to by a single `kubernetes.io/hostname In [node]` term, else None."""
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
    terms = required.get("nodeSelectorTerms") or []
    if len(terms) != 1:
        return None
    exprs = (terms[0] or {}).get("matchExpressions") or []
    if len(exprs) != 1:
        return None
    expr = exprs[0] or {}
    values = expr.get("values") or []
    if expr.get("key") == HOSTNAME_LABEL and expr.get("operator") == "In" and len(values) == 1:
        return str(values[0])
    return None


def pin_to_node(node: str) -> Obj:
    """A PV nodeAffinity that admits one node by its hostname label."""
    term = {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}
    return {"required": {"nodeSelectorTerms": [term]}}


def is_local_path_pv_name(name: Any) -> bool:
    return isinstance(name, str) and _PV_NAME.fullmatch(name) is not None


def local_path_for(root: str, pv_name: str) -> str:
    """The directory of a provisioned volume: `<root>/<pv name>`, both checked."""
    if not is_local_path_pv_name(pv_name):
        raise PathError(f"volume name {pv_name!r} is not one the local-path provisioner gives")
    return posixpath.join(clean_absolute(root), pv_name)


def check_local_path(root: str, path: Any) -> str:
    """On the node: `path` resolved through symlinks, which must be a directory directly under the resolved root,
    named as a DNS subdomain (the provisioner names it after its PV). PathError otherwise."""
    clean_absolute(path)
    real_root = os.path.realpath(root)
    parent, name = posixpath.split(path)
    if os.path.realpath(parent) != real_root or is_dns1123_subdomain(name):
        raise PathError(f"path {path!r} is outside the local volume root {root!r}")
    real = os.path.realpath(path)
    if os.path.lexists(path) and posixpath.dirname(real) != real_root:
        raise PathError(f"path {path!r} resolves to {real}, outside the local volume root {root!r}")
    return posixpath.join(real_root, name)
