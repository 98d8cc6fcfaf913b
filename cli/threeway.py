"""The client-side three-way strategic merge patch of `kctl apply`, computed as kubectl computes it.

    patch = deletions(original -> modified) + changes(current -> modified)

`original` is the last-applied configuration, `modified` the new manifest, `current` the live object. Keys
the user removed from the manifest since the last apply become `null` (or `$patch: delete` list entries,
or `$deleteFromPrimitiveList/...`); everything the manifest sets that differs from the live object is sent.
Fields set by others (the server, controllers) and never in a manifest are left alone.

Lists with a merge key are diffed element by element and carry `$setElementOrder/<field>` as kubectl's do.
The patch metadata here covers the built-in kinds kctl knows; unknown fields merge as JSON merge patch.
"""

from __future__ import annotations

from typing import Any

# field -> (merge key or "" for a set of primitives, type of the items / value)
Meta = dict[str, tuple[str | None, str | None]]
_CONTAINER: Meta = {
    "ports": ("containerPort", None),
    "env": ("name", None),
    "volumeMounts": ("mountPath", None),
    "volumeDevices": ("devicePath", None),
}
TYPES: dict[str, Meta] = {
    "ObjectMeta": {"finalizers": ("", None), "ownerReferences": ("uid", None)},
    "PodTemplateSpec": {"metadata": (None, "ObjectMeta"), "spec": (None, "PodSpec")},
    "PodSpec": {
        "volumes": ("name", None),
        "initContainers": ("name", "Container"),
        "containers": ("name", "Container"),
        "ephemeralContainers": ("name", "Container"),
        "imagePullSecrets": ("name", None),
        "hostAliases": ("ip", None),
        "topologySpreadConstraints": ("topologyKey", None),
    },
    "Container": _CONTAINER,
    "ServiceSpec": {"ports": ("port", None)},
    "NodeSpec": {"podCIDRs": ("", None)},
    "DeploymentSpec": {"template": (None, "PodTemplateSpec")},
    "ReplicaSetSpec": {"template": (None, "PodTemplateSpec")},
    "DaemonSetSpec": {"template": (None, "PodTemplateSpec")},
    "JobSpec": {"template": (None, "PodTemplateSpec")},
}
_SPEC = {
    "Pod": "PodSpec",
    "Service": "ServiceSpec",
    "Node": "NodeSpec",
    "Deployment": "DeploymentSpec",
    "ReplicaSet": "ReplicaSetSpec",
    "DaemonSet": "DaemonSetSpec",
    "Job": "JobSpec",
}


def root_meta(kind: str) -> Meta:
    meta: Meta = {"metadata": (None, "ObjectMeta")}
    if kind in _SPEC:
        meta["spec"] = (None, _SPEC[kind])
    return meta


def _sub(meta: Meta, key: str) -> Meta:
    return TYPES.get((meta.get(key) or (None, None))[1] or "", {})


def _diff(a: dict[str, Any], b: dict[str, Any], meta: Meta, changes: bool, deletions: bool) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, bv in b.items():
        if key not in a:
            if changes:
                patch[key] = bv
            continue
        av = a[key]
        if isinstance(av, dict) and isinstance(bv, dict):
            sub = _diff(av, bv, _sub(meta, key), changes, deletions)
            if sub:
                patch[key] = sub
        elif isinstance(av, list) and isinstance(bv, list) and key in meta and meta[key][0] is not None:
            _diff_list(patch, key, av, bv, meta[key], changes, deletions)
        elif av != bv and changes:
            patch[key] = bv
    if deletions:
        for key in a:
            if key not in b:
                patch[key] = None
    return patch


def _diff_list(
    patch: dict[str, Any],
    key: str,
    a: list[Any],
    b: list[Any],
    field: tuple[str | None, str | None],
    changes: bool,
    deletions: bool,
) -> None:
    merge_key, item_type = field
    if not merge_key:  # a set of primitives
        added = [x for x in b if x not in a]
        removed = [x for x in a if x not in b]
        if changes and added:
            patch[key] = added
        if deletions and removed:
            patch[f"$deleteFromPrimitiveList/{key}"] = removed
        if (changes and added) or (deletions and removed):
            patch[f"$setElementOrder/{key}"] = list(b)
        return
    if not all(isinstance(x, dict) and merge_key in x for x in a + b):
        if a != b and changes:
            patch[key] = b
        return
    item_meta = TYPES.get(item_type or "", {})
    old = {x[merge_key]: x for x in a}
    new_keys = {x[merge_key] for x in b}
    items: list[Any] = []
    for x in b:
        k = x[merge_key]
        if k not in old:
            if changes:
                items.append(x)
            continue
        sub = _diff(old[k], x, item_meta, changes, deletions)
        if sub:
            items.append({merge_key: k, **sub})
    if deletions:
        items += [{merge_key: x[merge_key], "$patch": "delete"} for x in a if x[merge_key] not in new_keys]
    if items:
        patch[key] = items
        patch[f"$setElementOrder/{key}"] = [{merge_key: x[merge_key]} for x in b]


def _merge(p: dict[str, Any], q: dict[str, Any], meta: Meta) -> dict[str, Any]:
    """Both patches in one: maps merge, keyed lists merge by key, otherwise `q` wins."""
    out = dict(p)
    for key, qv in q.items():
        pv = out.get(key)
        if isinstance(pv, dict) and isinstance(qv, dict):
            out[key] = _merge(pv, qv, _sub(meta, key))
        elif isinstance(pv, list) and isinstance(qv, list) and key in meta and meta[key][0]:
            mk = meta[key][0]
            item_meta = TYPES.get(meta[key][1] or "", {})
            merged = {x[mk]: x for x in pv}
            for x in qv:
                merged[x[mk]] = _merge(merged[x[mk]], x, item_meta) if x[mk] in merged else x
            out[key] = list(merged.values())
        else:
            out[key] = qv
    return out


def three_way_patch(
    original: dict[str, Any] | None, modified: dict[str, Any], current: dict[str, Any], kind: str
) -> dict[str, Any]:
    """The strategic merge patch that takes `current` to `modified`, deleting what left `original`."""
    meta = root_meta(kind)
    changes = _diff(current, modified, meta, changes=True, deletions=False)
    removed = _diff(original or {}, modified, meta, changes=False, deletions=True)
    return _merge(removed, changes, meta)


def two_way_patch(before: dict[str, Any], after: dict[str, Any], kind: str) -> dict[str, Any]:
    """The strategic merge patch from `before` to `after` (what `kctl edit` sends)."""
    return three_way_patch(before, after, before, kind)
