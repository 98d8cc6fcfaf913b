"""The client-side three-way strategic merge patch of `kctl apply`, computed as kubectl computes it.

    patch = deletions(original -> modified) + changes(current -> modified)

`original` is the last-applied configuration, `modified` the new manifest, `current` the live object. Keys
the user removed from the manifest since the last apply become `null` (or `$patch: delete` list entries,
or `$deleteFromPrimitiveList/...`); everything the manifest sets that differs from the live object is sent.
Fields set by others (the server, controllers) and never in a manifest are left alone.

Lists with a merge key are diffed element by element and carry `$setElementOrder/<field>` as kubectl's do.
The patch metadata is the apiserver's own (apimachinery.patchmeta); unknown fields merge as JSON merge patch.
"""

from __future__ import annotations

from typing import Any

from apimachinery.patchmeta import Field, fields_of, root_fields

Meta = dict[str, Field]


def root_meta(kind: str) -> Meta:
    return root_fields(kind)


def _sub(meta: Meta, key: str) -> Meta:
    field = meta.get(key)
    return fields_of(field.type) if field else {}


def _merges(field: Field | None) -> bool:
    """A list merged element by element (by key) or as a set of primitives, rather than replaced."""
    return field is not None and bool(field.merge_key or field.merges)


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
        elif isinstance(av, list) and isinstance(bv, list) and _merges(meta.get(key)):
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
    field: Field,
    changes: bool,
    deletions: bool,
) -> None:
    merge_key = field.merge_key
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
    item_meta = fields_of(field.type)
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
        elif isinstance(pv, list) and isinstance(qv, list) and key in meta and meta[key].merge_key:
            mk = str(meta[key].merge_key)
            item_meta = fields_of(meta[key].type)
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
