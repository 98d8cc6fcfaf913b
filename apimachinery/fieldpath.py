"""Field paths and field sets as server-side apply writes them in `metadata.managedFields` (FieldsV1).

A path leads from the root of an object to one field, one step per element:

    f:<name>            a field of a map or struct                      .spec.replicas
    k:{"name":"web"}    the element of a list-map with these key values [name="web"]
    v:"foo"             the element of a set (a list of scalars)        [="foo"]
    i:3                 an element by index (lists without keys)        [3]

A field set is a set of paths; FieldsV1 writes it as a tree of JSON objects in that notation, where `".": {}`
marks a node that is itself in the set besides having children. The encoding follows structured-merge-diff's
(`fieldpath/serialize.go`): elements sorted fields first, then keys, values and indices, `.` first of all.

Elements are plain tuples so that paths hash and compare: ("f", name), ("k", ((key, json), ...)) with the keys
sorted by name, ("v", json), ("i", index); values are kept as the JSON text Go would write for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from apimachinery.errors import go_quote
from apimachinery.serialization import dumps_go

PathElement = tuple[Any, ...]
Path = tuple[PathElement, ...]
FieldSet = set[Path]


def field(name: str) -> PathElement:
    return ("f", name)


def key(values: dict[str, Any]) -> PathElement:
    return ("k", tuple(sorted((k, value_json(v)) for k, v in values.items())))


def value(v: Any) -> PathElement:
    return ("v", value_json(v))


def index(i: int) -> PathElement:
    return ("i", i)


def value_json(v: Any) -> str:
    """A value as Go's JSON writer spells it inside a path element."""
    return dumps_go(v)[:-1].decode()


def path(*names: str) -> Path:
    """A path of field names: path("spec", "replicas")."""
    return tuple(field(n) for n in names)


# ---- ordering (structured-merge-diff's PathElement.Compare) ------------------------------------------------------

_KIND_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def _value_rank(v: Any) -> tuple[Any, ...]:
    """value.Compare: numbers (numerically) < strings < booleans < lists < maps < null."""
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, int | float):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    if isinstance(v, list):
        return (3, tuple(_value_rank(x) for x in v))
    if isinstance(v, dict):
        return (4, tuple((k, _value_rank(x)) for k, x in sorted(v.items())))
    return (5,)


def sort_key(pe: PathElement) -> tuple[Any, ...]:
    kind = pe[0]
    if kind == "f":
        return (0, pe[1])
    if kind == "k":
        return (1, tuple((name, _value_rank(json.loads(text))) for name, text in pe[1]))
    if kind == "v":
        return (2, _value_rank(json.loads(pe[1])))
    return (_KIND_RANK.get(kind, 4), pe[1])


# ---- FieldsV1 ------------------------------------------------------------------------------------------------


def element_string(pe: PathElement) -> str:
    """The FieldsV1 key of one element: `f:name`, `k:{"name":"web"}`, `v:"x"`, `i:0`."""
    kind = pe[0]
    if kind == "f":
        return "f:" + pe[1]
    if kind == "k":
        return "k:{" + ",".join(f"{value_json(name)}:{text}" for name, text in pe[1]) + "}"
    if kind == "v":
        return "v:" + pe[1]
    return f"i:{pe[1]}"


def parse_element(text: str) -> PathElement | None:
    """The element of a FieldsV1 key; None for a kind this version does not know (skipped, as upstream does).
    ValueError when malformed."""
    if len(text) < 2 or text[1] != ":":
        raise ValueError(f"invalid path element {text!r}: missing colon")
    kind, rest = text[0], text[2:]
    if kind == "f":
        return field(rest)
    if kind == "k":
        decoded = json.loads(rest)
        if not isinstance(decoded, dict):
            raise ValueError(f"invalid key path element {text!r}")
        return key(decoded)
    if kind == "v":
        return value(json.loads(rest))
    if kind == "i":
        return index(int(rest))
    return None


_MEMBER: PathElement = ()  # marks, in to_fields_v1's tree, a node that is itself in the set (no element is empty)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a field set."""
    root: dict[PathElement, Any] = {}
    for p in paths:
        node = root
        for pe in p:
            node = node.setdefault(pe, {})
        node[_MEMBER] = None
    return _emit(root)


def _emit(node: dict[PathElement, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    elements = [pe for pe in node if pe]
    if len(elements) > 1:
        elements.sort(key=sort_key)
    for pe in elements:
        children = node[pe]
        if len(children) == 1 and _MEMBER in children:  # a leaf
            out[element_string(pe)] = {}
            continue
        emitted = _emit(children)
        out[element_string(pe)] = {".": {}, **emitted} if _MEMBER in children else emitted
    return out


def from_fields_v1(doc: Any) -> FieldSet:
    """The field set of a FieldsV1 tree; ValueError when it is not one."""
    if not isinstance(doc, dict):
        raise ValueError("fieldsV1 must be a JSON object")
    out: FieldSet = set()
    _read(doc, (), out)
    return out


def _read(node: dict[str, Any], prefix: Path, out: FieldSet) -> None:
    for text, child in node.items():
        if text == ".":
            continue
        pe = parse_element(text)
        if pe is None:
            continue
        if not isinstance(child, dict):
            raise ValueError(f"invalid fieldsV1 at {text!r}: not an object")
        p = (*prefix, pe)
        if not child or "." in child:
            out.add(p)
        _read(child, p, out)


# ---- paths as text -------------------------------------------------------------------------------------------


def path_string(p: Path) -> str:
    """A path as conflict messages print it: `.spec.template.spec.containers[name="web"].image`."""
    parts = []
    for pe in p:
        kind = pe[0]
        if kind == "f":
            parts.append("." + pe[1])
        elif kind == "k":
            parts.append("[" + ",".join(f"{name}={_go_value(text)}" for name, text in pe[1]) + "]")
        elif kind == "v":
            parts.append(f"[={_go_value(pe[1])}]")
        else:
            parts.append(f"[{pe[1]}]")
    return "".join(parts)


def _go_value(text: str) -> str:
    """value.ToString: strings quoted (%q), numbers and booleans bare."""
    v = json.loads(text)
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return text


# ---- set operations beyond Python's -----------------------------------------------------------------------------


def with_prefix(paths: Iterable[Path], prefix: Path) -> FieldSet:
    """The paths below `prefix`, with the prefix removed."""
    n = len(prefix)
    return {p[n:] for p in paths if len(p) > n and p[:n] == prefix}


def recursive_difference(paths: Iterable[Path], removed: Iterable[Path]) -> FieldSet:
    """`paths` without the removed paths and everything below them."""
    gone = set(removed)
    lengths = sorted({len(r) for r in gone})
    return {p for p in paths if not any(p[:n] in gone for n in lengths if n <= len(p))}


def under(paths: Iterable[Path], prefix: Path) -> FieldSet:
    """The paths that are `prefix` or below it."""
    n = len(prefix)
    return {p for p in paths if p[:n] == prefix}
