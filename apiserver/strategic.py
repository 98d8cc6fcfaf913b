"""Strategic merge patch (`application/strategic-merge-patch+json`), as kube-apiserver applies it.

The rules are JSON merge patch (maps merge recursively, `null` deletes, lists are replaced) plus what the Go
struct tags of the built-in types declare (`patchStrategy`, `patchMergeKey`):

* a list with a merge key (`containers` by `name`, container `ports` by `containerPort`, Service `ports` by
  `port`, ...) merges element by element, matching on the key; elements only in the patch are appended;
* a list of primitives with strategy `merge` (`metadata.finalizers`, `spec.podCIDRs`) is a set union;
* every other list is replaced, as in a merge patch.

Directives: `$patch: replace|merge|delete` in a map; `{"$patch": "replace"}` or `{"$patch": "delete", <key>: v}`
as list elements; `$setElementOrder/<list>`; `$retainKeys`; `$deleteFromPrimitiveList/<list>`.

The patch metadata lives in `apimachinery.patchmeta`; the OpenAPI documents and kctl's apply read the same
table, so `x-kubernetes-patch-merge-key`, the merge and the client's patches agree.

Differences from upstream, on purpose: a map patched with `$patch: delete` disappears from its parent (upstream
leaves `{}`), and values added where the original had nothing are cleaned of directives and nulls.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery.errors import StatusError, bad_request
from apimachinery.patchmeta import Field, fields_of, root_fields

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_UNTYPED = Field()  # a field the patch metadata does not declare (frozen: one serves every lookup)


def strategic_merge(
    original: dict[str, Any], patch: dict[str, Any], *, kind: str, copy_original: bool = True
) -> dict[str, Any]:
    """Apply a strategic merge patch to `original` (not mutated unless `copy_original` is False, for a caller that
    owns it); return the new object.

    Raises StatusError 400 for malformed directives and 422 when `$retainKeys` contradicts the patch.
    """
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    fields = root_fields(kind)
    result = _merge_map(copy.deepcopy(original) if copy_original else original, patch, fields)
    return result if result is not None else {}


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], fields: dict[str, Field]
) -> dict[str, Any] | None:
    """Merge `patch` into `original` (owned by the caller, changed in place). None means: delete this map."""
    directive = patch.get(DIRECTIVE)
    if directive is not None:
        if directive == "delete":
            return None
        patch = {k: v for k, v in patch.items() if k != DIRECTIVE}
        if directive == "replace":
            original = {}
        elif directive != "merge":
            raise bad_request(f"invalid value for $patch directive: {directive!r}")

    if RETAIN_KEYS in patch:
        _retain_keys(original, patch)

    handled: set[str] = set()
    for key, order in patch.items():
        if not key.startswith(SET_ORDER):
            continue
        name = key[len(SET_ORDER) :]
        if not isinstance(order, list):
            raise bad_request(f"invalid {key}: the $setElementOrder directive must be a list")
        field = fields.get(name, _UNTYPED)
        if name in patch and patch[name] is None:
            continue
        current = original.get(name)
        if name in patch:
            merged = _merge_value(current, patch[name], field)
        elif isinstance(current, list):
            merged = current
        else:
            continue
        if isinstance(merged, list):
            original[name] = _reorder(merged, order, current if isinstance(current, list) else [], field)
        else:
            original[name] = merged
        handled.add(name)

    deletions: list[tuple[str, Any]] = []
    for key, value in patch.items():
        if key in handled or key in (RETAIN_KEYS, DIRECTIVE) or key.startswith(SET_ORDER):
            continue
        if key.startswith(DELETE_PRIMITIVE):
            deletions.append((key[len(DELETE_PRIMITIVE) :], value))
            continue
        if value is None:
            original.pop(key, None)
            continue
        merged = _merge_value(original.get(key), value, fields.get(key, _UNTYPED))
        if merged is None:
            original.pop(key, None)
        else:
            original[key] = merged

    for name, values in deletions:
        if not isinstance(values, list):
            raise bad_request(f"invalid $deleteFromPrimitiveList/{name}: must be a list")
        current = original.get(name)
        if isinstance(current, list):
            original[name] = [v for v in current if v not in values]
    return original


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    keys = patch[RETAIN_KEYS]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise bad_request("invalid $retainKeys: must be a list of strings")
    for key, value in patch.items():
        if key.startswith("$") or value is None:
            continue
        if key not in keys:
            raise StatusError(
                422,
                "Invalid",
                f"the patch has field {key!r} that is not present in $retainKeys {keys}",
            )
    for key in list(original):
        if key not in keys:
            del original[key]


def _merge_value(original: Any, patch: Any, field: Field) -> Any:
    """Merge one value. A None return means the value is deleted."""
    if isinstance(patch, dict):
        base = original if isinstance(original, dict) else {}
        if field.strategy == "replace":
            base = {}
        return _merge_map(base, patch, fields_of(field.type))
    if isinstance(patch, list):
        base_list = original if isinstance(original, list) else []
        return _merge_list(base_list, patch, field)
    return copy.deepcopy(patch)


def _clean(value: Any, field: Field) -> Any:
    """A patch value taken as is: directives applied against nothing, nulls dropped."""
    return _merge_value(None, value, field)


def _merge_list(original: list[Any], patch: list[Any], field: Field) -> list[Any]:
    item_field = Field(field.type)
    if not field.merges:
        return [_clean(v, item_field) if isinstance(v, dict) else copy.deepcopy(v) for v in patch]
    if any(isinstance(v, list) for v in (*original, *patch)):
        raise bad_request("strategic merge patch cannot merge lists of lists")
    if not any(isinstance(v, dict) for v in (*original, *patch)):
        merged = list(original)
        for v in patch:
            if v not in merged:
                merged.append(copy.deepcopy(v))
        return _reorder(merged, patch, original, field)
    key = field.merge_key
    if not key:
        return [_clean(v, item_field) for v in patch]

    merged = list(original)
    items: list[dict[str, Any]] = []
    replace = False
    for element in patch:
        if not isinstance(element, dict):
            raise bad_request(f"cannot merge a primitive into a list of objects merged by {key!r}")
        directive = element.get(DIRECTIVE)
        if directive is None:
            items.append(element)
        elif directive == "replace":
            replace = True
        elif directive == "delete":
            if key not in element:
                raise bad_request(f"$patch: delete element {element} does not contain the merge key {key!r}")
            merged = [m for m in merged if not (isinstance(m, dict) and m.get(key) == element[key])]
        elif directive != "merge":
            raise bad_request(f"invalid value for $patch directive: {directive!r}")
    if replace:
        return [_clean(v, item_field) for v in items]

    for element in items:
        if key not in element:
            raise bad_request(f"map {element} does not contain the declared merge key {key!r}")
        index = _find(merged, key, element[key])
        if index is None:
            merged.append(_clean(element, item_field))
        else:
            base = copy.deepcopy(merged[index])
            merged[index] = _merge_map(base, element, fields_of(field.type)) or {}
    return _reorder(merged, items, original, field)


def _find(items: list[Any], key: str, value: Any) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get(key) == value:
            return i
    return None


def _identity(item: Any, key: str | None) -> Any:
    if key and isinstance(item, dict):
        return ("key", _hashable(item.get(key)))
    return ("value", _hashable(item))


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return repr(value)
    return value


def _reorder(merged: list[Any], order: list[Any], server: list[Any], field: Field) -> list[Any]:
    """Order a merged list like upstream: items named in `order` follow it; the others keep their place
    relative to `server` (the live list), interleaved where both lists know their relative position."""
    key = field.merge_key if any(isinstance(v, dict) for v in merged) else None
    wanted = [_identity(v, key) for v in order]
    wanted_pos = {ident: i for i, ident in reversed(list(enumerate(wanted)))}
    server_pos = {ident: i for i, ident in reversed(list(enumerate(_identity(v, key) for v in server)))}
    ordered = sorted(
        (v for v in merged if _identity(v, key) in wanted_pos), key=lambda v: wanted_pos[_identity(v, key)]
    )
    server_only = sorted(
        (v for v in merged if _identity(v, key) not in wanted_pos),
        key=lambda v: server_pos.get(_identity(v, key), len(server)),
    )
    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(ordered):
        if i >= len(server_only):
            result.append(ordered[j])
            j += 1
        elif j >= len(ordered):
            result.append(server_only[i])
            i += 1
        else:
            left = server_pos.get(_identity(server_only[i], key))
            right = server_pos.get(_identity(ordered[j], key))
            if left is not None and right is not None and left < right:
                result.append(server_only[i])
                i += 1
            else:
                result.append(ordered[j])
                j += 1
    return result
