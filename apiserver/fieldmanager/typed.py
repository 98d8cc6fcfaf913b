"""Walks over an object with its type: the field set it holds, what changed between two versions, the merge of an
applied configuration into a live object, and the removal of fields.

The semantics are structured-merge-diff's (`typed/tofieldset.go`, `compare.go`, `merge.go`, `remove.go`):

* a scalar, an atomic map or list, and a map or list that is empty on both sides is a leaf: it is owned, compared
  and replaced as a whole;
* other maps go field by field; a list-map element by its key values (`k:`), a set element by its value (`v:`);
* the field set of a value holds its leaves, the elements of its associative lists, and fields whose value is
  null or an empty map;
* a comparison reports a map or list that appears or disappears as a whole as well as every field below it.

`MISSING` stands for an absent value (None is JSON null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from apimachinery import fieldpath
from apimachinery.fieldpath import FieldSet, Path, PathElement
from apimachinery.serialization import json_equal
from apiserver.fieldmanager.schema import KEY_DEFAULTS, TypeRef


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class SchemaError(ValueError):
    """A value that its type does not allow (a list-map element without its key, a duplicate in an applied list)."""


def element(t: TypeRef, item: Any) -> PathElement:
    """The path element of one element of an associative list."""
    if t.list_type == "map":
        if not isinstance(item, dict):
            raise SchemaError("associative list with keys may not have non-map elements")
        values: dict[str, Any] = {}
        for name in t.keys:
            if name in item:
                values[name] = item[name]
            elif name in KEY_DEFAULTS:
                values[name] = KEY_DEFAULTS[name]
            else:
                raise SchemaError(
                    f"associative list with keys has an element that omits key field {name!r} "
                    "(and doesn't have default value)"
                )
        return fieldpath.key(values)
    if isinstance(item, dict | list) or item is None:
        raise SchemaError("associative list without keys has an element that is not a scalar")
    return fieldpath.value(item)


def _is_leaf(lhs: Any, rhs: Any, t: TypeRef) -> bool:
    absent_l = lhs is MISSING or lhs is None
    absent_r = rhs is MISSING or rhs is None
    if absent_l and absent_r:
        return True
    empty = (absent_l or not lhs) and (absent_r or not rhs)  # both absent, {} or []
    if (absent_l or type(lhs) is dict) and (absent_r or type(rhs) is dict):
        return t.atomic or empty
    if (absent_l or type(lhs) is list) and (absent_r or type(rhs) is list):
        return not t.associative or empty
    return True  # a scalar, or two values of different kinds


# ---- the field set of a value ----------------------------------------------------------------------------------


def to_field_set(obj: Any, t: TypeRef, *, strict: bool = False) -> FieldSet:
    """The fields `obj` holds. `strict` (an applied configuration) makes a repeated list element an error."""
    out: FieldSet = set()
    _collect(obj, t, (), out, strict)
    return out


def _collect(v: Any, t: TypeRef, path: Path, out: FieldSet, strict: bool) -> None:
    if isinstance(v, dict):
        if t.atomic:
            out.add(path)
            return
        for k, child in v.items():
            child_path = (*path, fieldpath.field(k))
            _collect(child, t.child(k), child_path, out, strict)
            if child is None or child == {}:
                out.add(child_path)
    elif isinstance(v, list):
        if not t.associative:
            out.add(path)
            return
        pes = [element(t, item) for item in v]
        repeated = {pe for pe in pes if pes.count(pe) > 1}
        if strict and repeated:
            raise SchemaError(f"duplicate entries for key {fieldpath.path_string((next(iter(repeated)),))}")
        item_type = t.item()
        for pe, item in zip(pes, v, strict=True):
            if pe not in repeated:
                _collect(item, item_type, (*path, pe), out, strict)
            out.add((*path, pe))
    elif path:
        out.add(path)


# ---- what changed -----------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    added: FieldSet = field(default_factory=set)
    modified: FieldSet = field(default_factory=set)
    removed: FieldSet = field(default_factory=set)

    def without(self, ignored: Path | None) -> Comparison:
        """The comparison without the paths at or below `ignored` (a strategy's reset fields)."""
        if ignored is None:
            return self
        n = len(ignored)  # a path is at or below `ignored` exactly when its first n elements are `ignored`
        return Comparison(
            *({p for p in s if p[:n] != ignored} for s in (self.added, self.modified, self.removed))
        )


def compare(old: Any, new: Any, t: TypeRef) -> Comparison:
    cmp = Comparison()
    _compare(old, new, t, (), cmp)
    return cmp


def _compare(lhs: Any, rhs: Any, t: TypeRef, path: Path, cmp: Comparison) -> None:
    if lhs is MISSING and rhs is not MISSING:
        _added(rhs, t, path, cmp.added)
        return
    if len(path) <= _SAME_DEPTH and _same_json(lhs, rhs):
        _check_elements(lhs, t)  # nothing changed below; only the schema errors the walk would raise remain
        return
    if _is_leaf(lhs, rhs, t):
        if lhs is MISSING:
            cmp.added.add(path)
        elif rhs is MISSING:
            cmp.removed.add(path)
        elif not json_equal(lhs, rhs):
            cmp.modified.add(path)
        return
    if isinstance(lhs, dict) or isinstance(rhs, dict):
        lm = lhs if isinstance(lhs, dict) else {}
        rm = rhs if isinstance(rhs, dict) else {}
        for k in {**lm, **rm}:
            _compare(lm.get(k, MISSING), rm.get(k, MISSING), t.child(k), (*path, fieldpath.field(k)), cmp)
    else:
        _compare_list(
            lhs if isinstance(lhs, list) else [], rhs if isinstance(rhs, list) else [], t, path, cmp
        )
    if path:
        if lhs is MISSING:
            cmp.added.add(path)
        elif rhs is MISSING:
            cmp.removed.add(path)


# Down to which depth a map or list is first tested for being the same on both sides (a status write leaves the
# spec and metadata as they were): deeper, the serialization would cost more than the walk it saves.
_SAME_DEPTH = 2


def _same_json(lhs: Any, rhs: Any) -> bool:
    """Whether two maps or lists are certainly the same JSON value (json_equal): the same compact serialization,
    with no null in it (orjson writes NaN and infinities as null, which json_equal tells apart). A False only
    means the walk decides."""
    kind = type(lhs)
    if (kind is not dict and kind is not list) or type(rhs) is not kind or len(lhs) != len(rhs):
        return False  # maps with other numbers of keys, lists of other lengths: never the same JSON value
    try:
        encoded = orjson.dumps(lhs)
    except TypeError:
        return False
    return b"null" not in encoded and orjson.dumps(rhs) == encoded


def _check_elements(v: Any, t: TypeRef) -> None:
    """What `_compare(v, v, t, ...)` does for a value the same on both sides: no change, but the SchemaError of an
    associative list element without its key (or a set element that is not a scalar), in the same walk order."""
    if type(v) is dict:
        if not v or t.atomic:
            return
        for k, child in v.items():
            if type(child) is dict or type(child) is list:
                _check_elements(child, t.child(k))
    elif type(v) is list and v and t.associative:
        item_type = t.item()
        for items in _by_element(t, v).values():
            if len(items) == 1:
                _check_elements(items[0], item_type)


def _added(v: Any, t: TypeRef, path: Path, added: FieldSet) -> None:
    """`_compare(MISSING, v, ...)` without the other side: every path of a value that appears (most of a create)."""
    if type(v) is dict and v and not t.atomic:
        for k, child in v.items():
            _added(child, t.child(k), (*path, fieldpath.field(k)), added)
    elif type(v) is list and v and t.associative:
        item_type = t.item()
        for pe, items in _by_element(t, v).items():
            if len(items) == 1:
                _added(items[0], item_type, (*path, pe), added)
            else:
                added.add((*path, pe))
    else:
        added.add(path)  # a leaf, the root included
        return
    if path:
        added.add(path)


def _by_element(t: TypeRef, items: list[Any]) -> dict[PathElement, list[Any]]:
    out: dict[PathElement, list[Any]] = {}
    for item in items:
        out.setdefault(element(t, item), []).append(item)
    return out


def _compare_list(lhs: list[Any], rhs: list[Any], t: TypeRef, path: Path, cmp: Comparison) -> None:
    left, right = _by_element(t, lhs), _by_element(t, rhs)
    item_type = t.item()
    for pe in {**left, **right}:
        ls, rs = left.get(pe, []), right.get(pe, [])
        child = (*path, pe)
        if len(ls) <= 1 and len(rs) <= 1:
            _compare(ls[0] if ls else MISSING, rs[0] if rs else MISSING, item_type, child, cmp)
        elif len(ls) >= 2 and len(rs) >= 2:
            if not json_equal(ls, rs):
                cmp.modified.add(child)
        elif len(ls) >= 2:
            if rs:
                _compare(MISSING, rs[0], item_type, child, cmp)
            cmp.removed.add(child)
        else:
            if ls:
                _compare(ls[0], MISSING, item_type, child, cmp)
            cmp.added.add(child)


# ---- merging an applied configuration ---------------------------------------------------------------------------


def merge(live: Any, config: Any, t: TypeRef) -> Any:
    """`config` merged into `live` (neither changed): the configuration wins at every leaf it sets."""
    if config is MISSING:
        return live
    if config is None:
        # A null over a non-empty map or associative list keeps what is there; anywhere else it clears the field.
        keeps_map = isinstance(live, dict) and bool(live) and not t.atomic
        keeps_list = isinstance(live, list) and bool(live) and t.associative
        return live if keeps_map or keeps_list else MISSING
    if live is None or live is MISSING or _is_leaf(live, config, t):
        return _without_nulls(config)
    if isinstance(live, dict):
        out: dict[str, Any] = {}
        for k in {**live, **config}:
            merged = merge(live.get(k, MISSING), config.get(k, MISSING), t.child(k))
            if merged is not MISSING:
                out[k] = merged
        return out if out else MISSING
    return _merge_list(live, config, t)


def _without_nulls(v: Any) -> Any:
    """An applied value as it is stored: Go drops the fields a configuration sets to null."""
    if isinstance(v, dict):
        return {k: _without_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_without_nulls(x) for x in v]
    return v


def _merge_list(live: list[Any], config: list[Any], t: TypeRef) -> Any:
    """structured-merge-diff's list merge: live order, with the configuration's elements placed where the
    configuration orders them relative to the elements both have."""
    rhs_pes = [element(t, item) for item in config]
    if len(set(rhs_pes)) != len(rhs_pes):
        dup = next(pe for pe in rhs_pes if rhs_pes.count(pe) > 1)
        raise SchemaError(f"duplicate entries for key {fieldpath.path_string((dup,))}")
    rhs = dict(zip(rhs_pes, config, strict=True))
    lhs_pes = [element(t, item) for item in live]
    lhs: dict[PathElement, Any] = {}
    for pe, item in zip(lhs_pes, live, strict=True):
        lhs[pe] = None if pe in lhs else item  # a duplicated element merges as null, as upstream
    shared = [pe for pe in rhs_pes if pe in lhs]
    next_shared = shared.pop(0) if shared else None
    item_type = t.item()
    done: set[PathElement] = set()
    out: list[Any] = []

    def emit(value: Any) -> None:
        if value is not MISSING:
            out.append(value)

    li = ri = 0
    while li < len(lhs_pes) or ri < len(rhs_pes):
        if li < len(lhs_pes) and ri < len(rhs_pes):
            pe = lhs_pes[li]
            if pe == rhs_pes[ri]:
                done.add(pe)
                emit(merge(lhs[pe], rhs[pe], item_type))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in rhs and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lhs_pes):
            pe = lhs_pes[li]
            if pe not in rhs:
                emit(merge(live[li], MISSING, item_type))
                li += 1
                continue
            if pe in done:
                li += 1
        if ri < len(rhs_pes):
            pe = rhs_pes[ri]
            done.add(pe)
            emit(merge(lhs.get(pe, MISSING), rhs[pe], item_type))
            ri += 1
            if next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out if out else MISSING


# ---- removing fields --------------------------------------------------------------------------------------------


def remove_items(v: Any, paths: FieldSet, t: TypeRef) -> Any:
    """`v` without the fields of `paths` (relative to `v`); a map or list left empty becomes MISSING."""
    if not paths:
        return v
    if isinstance(v, dict):
        if t.atomic:
            return v
        out: dict[str, Any] = {}
        for k, child in v.items():
            pe = fieldpath.field(k)
            if (pe,) in paths:
                continue
            below = fieldpath.with_prefix(paths, (pe,))
            kept = remove_items(child, below, t.child(k)) if below else child
            if kept is not MISSING:
                out[k] = kept
        return out if out else MISSING
    if isinstance(v, list) and t.associative:
        items = []
        item_type = t.item()
        for item in v:
            pe = element(t, item)
            if (pe,) in paths:
                continue
            below = fieldpath.with_prefix(paths, (pe,))
            kept = remove_items(item, below, item_type) if below else item
            if kept is not MISSING:
                items.append(kept)
        return items if items else MISSING
    return v


def ensure_named_fields(paths: FieldSet) -> FieldSet:
    """`paths` with every field-name prefix made a member too (EnsureNamedFieldsAreMembers): owning
    `.spec.template.spec.containers[name="x"].image` also owns `.spec`, `.spec.template`, ..."""
    out = set(paths)
    for p in paths:
        for i in range(1, len(p)):
            if p[i - 1][0] == "f":
                out.add(p[:i])
    return out
