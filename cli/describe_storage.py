"""describe text for PersistentVolumes, PersistentVolumeClaims and StorageClasses, in kubectl's layout."""

from __future__ import annotations

from typing import Any

from cli.describers import Doc, annotation_lines, described, events, header, sections

Obj = dict[str, Any]
_SHORT_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def access_modes(modes: list[str] | None) -> str:
    present = set(modes or ())
    return ",".join(short for mode, short in _SHORT_MODES.items() if mode in present)


def _finalizers(meta: Obj) -> str:
    return "[" + " ".join(meta.get("finalizers") or []) + "]"


def _phase(obj: Obj) -> str:
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return str((obj.get("status") or {}).get("phase") or "")


def _node_affinity(d: Doc, affinity: Obj | None) -> None:
    terms = ((affinity or {}).get("required") or {}).get("nodeSelectorTerms") or []
    if not terms:
        d.w(0, "Node Affinity:\t<none>\n")
        return
    d.w(0, "Node Affinity:\t\n")
    d.w(1, "Required Terms:\t\n")
    for i, term in enumerate(terms):
        exprs = [
            f"{e.get('key')} {str(e.get('operator', '')).lower()} [{', '.join(e.get('values') or [])}]"
            for e in (term or {}).get("matchExpressions") or []
        ]
        d.w(2, f"Term {i}:\t{', '.join(exprs) or '<none>'}\n")


@described
def pv_text(d: Doc, pv: Obj, evs: list[Obj]) -> None:
    meta, spec = pv["metadata"], pv.get("spec") or {}
    ref = spec.get("claimRef") or {}
    header(d, meta, namespaced=False)
    d.fields(
        0,
        ("Finalizers", _finalizers(meta)),
        ("StorageClass", spec.get("storageClassName", "")),
        ("Status", _phase(pv)),
    )
    d.w(0, f"Claim:\t{ref.get('namespace', '')}/{ref.get('name', '')}\n" if ref else "Claim:\t\n")
    d.fields(
        0,
        ("Reclaim Policy", spec.get("persistentVolumeReclaimPolicy", "")),
        ("Access Modes", access_modes(spec.get("accessModes"))),
        ("VolumeMode", spec.get("volumeMode", "Filesystem")),
        ("Capacity", (spec.get("capacity") or {}).get("storage", "")),
    )
    _node_affinity(d, spec.get("nodeAffinity"))
    d.w(0, f"Message:\t{(pv.get('status') or {}).get('message', '')}\n")
    d.w(0, "Source:\n")
    if spec.get("local"):
        d.w(1, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n")
        d.w(1, f"Path:\t{spec['local'].get('path', '')}\n")
    elif spec.get("hostPath"):
        d.w(1, "Type:\tHostPath (bare host directory volume)\n")
        d.w(1, f"Path:\t{spec['hostPath'].get('path', '')}\n")
        d.w(1, f"HostPathType:\t{spec['hostPath'].get('type', '')}\n")
    else:
        kinds = [
            k for k in spec if isinstance(spec[k], dict) and k not in ("capacity", "claimRef", "nodeAffinity")
        ]
        d.w(1, f"Type:\t{kinds[0] if kinds else '<unknown>'}\n")
    events(d, evs)


@described
def pvc_text(d: Doc, claim: Obj, users: list[str], evs: list[Obj]) -> None:
    meta, spec, status = sections(claim)
    header(
        d,
        meta,
        ("StorageClass", spec.get("storageClassName", "")),
        ("Status", _phase(claim)),
        ("Volume", spec.get("volumeName", "")),
    )
    d.fields(
        0,
        ("Finalizers", _finalizers(meta)),
        ("Capacity", (status.get("capacity") or {}).get("storage", "")),
        ("Access Modes", access_modes(status.get("accessModes"))),
        ("VolumeMode", spec.get("volumeMode", "Filesystem")),
        ("Used By", users[0] if users else "<none>"),
    )
    for user in users[1:]:
        d.w(0, f"\t{user}\n")
    events(d, evs)


@described
def storage_class_text(d: Doc, sc: Obj, evs: list[Obj]) -> None:
    meta = sc["metadata"]
    default = (meta.get("annotations") or {}).get(DEFAULT_CLASS) == "true"
    params = ",".join(f"{k}={v}" for k, v in sorted((sc.get("parameters") or {}).items())) or "<none>"
    expansion = sc.get("allowVolumeExpansion")
    d.w(0, f"Name:\t{meta['name']}\n")
    d.w(0, f"IsDefaultClass:\t{'Yes' if default else 'No'}\n")
    annotation_lines(d, 0, meta)
    d.fields(
        0,
        ("Provisioner", sc.get("provisioner", "")),
        ("Parameters", params),
        ("AllowVolumeExpansion", "<unset>" if expansion is None else str(expansion)),
        ("MountOptions", ", ".join(sc.get("mountOptions") or []) or "<none>"),
        ("ReclaimPolicy", sc.get("reclaimPolicy", "")),
        ("VolumeBindingMode", sc.get("volumeBindingMode", "")),
    )
    events(d, evs)


def claim_users(pods: list[Obj], claim_name: str) -> list[str]:
    """The pods that mount the claim (kubectl's "Used By")."""
    return sorted(
        p["metadata"]["name"]
        for p in pods
        if any(
            ((v or {}).get("persistentVolumeClaim") or {}).get("claimName") == claim_name
            for v in (p.get("spec") or {}).get("volumes") or []
        )
    )
