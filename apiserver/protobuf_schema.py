"""Protobuf field numbers of the Kubernetes messages kubelite decodes (see `apiserver/protobuf.py`), as an overlay
on the published schemas.

Published OpenAPI has no protobuf field numbers, so they are kept as data in `apiserver.protobuf_fields`: one
line per message, `Name: json=number[:type][!][^] ...`, with the numbers of the upstream `generated.proto` files
(k8s.io/api, k8s.io/apimachinery). A message is named by its definition's short name (`PodSpec`) or full name
(`io.k8s.api.core.v1.PodSpec`, for the few short names several packages share). Everything else comes from the
schema (apimachinery.schemas): which definition a field refers to, whether it is a list or a map, its scalar
type; a type written here must agree with it (`check()`), and a test checks every number's field exists.

* type (optional where the schema says it): `string`, `int`, `bool`, `bytes`, `double`, the well-known `Time`,
  `MicroTime`, `Quantity`, `IntOrString`, `FieldsV1`, `RawExtension`, or another message; `[T]` is a repeated
  field and `{T}` a map with string keys.
* `!` keeps a zero value. Go always writes its non-pointer scalars to protobuf, so a present `0`/`""`/`false`
  usually only means "unset" and is dropped, as `json:",omitempty"` drops it. Pointer fields (`*int32`
  replicas, `*bool` optional, ...) and fields without omitempty are only written when set or always mean what
  they say: those keep the zero.
* `^` marks an embedded Go struct whose fields JSON writes inline into the parent (`Volume.volumeSource`); its
  type is required (it is a Go type, not a schema definition), and its fields are the parent's in the schema.

Protobuf field numbers never change, so a message here may lack newer fields: the decoder skips those (and any
other unknown field) instead of failing. The kinds whose bodies can be decoded are the published kinds with a
message here: adding a kind's message is all a new kind needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from apimachinery import schemas
from apiserver.protobuf_fields import TABLE

# Scalars, and the well-known types whose messages the decoder knows itself.
SCALARS = frozenset(
    {
        "string",
        "int",
        "bool",
        "bytes",
        "double",
        "Time",
        "MicroTime",
        "Quantity",
        "IntOrString",
        "FieldsV1",
        "RawExtension",
    }
)
_WELL_KNOWN = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime",
    schemas.QUANTITY: "Quantity",
    schemas.INT_OR_STRING: "IntOrString",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "FieldsV1",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "RawExtension",
}
_SCHEMA_SCALARS = {"string": "string", "integer": "int", "boolean": "bool", "number": "double"}

# A message to decode: (overlay name, schema definition). They differ for an embedded struct (`^`), whose fields
# live in its parent's definition.
Message = tuple[str, str]


@dataclass(frozen=True)
class Field:
    json: str
    type: str | Message  # a scalar of SCALARS or a message
    repeated: bool = False
    map: bool = False
    keep_zero: bool = False
    inline: bool = False
    map_of_lists: bool = False  # map[string][]T: each map value is a message of one repeated field (items=1)


@dataclass(frozen=True)
class _Spec:
    """One field as the overlay writes it."""

    json: str
    number: int
    type: str | None  # as written, without [] or {}; None: from the schema
    shape: str  # "" | "[]" | "{}" as written
    keep_zero: bool
    inline: bool


def _parse_field(spec: str) -> _Spec:
    name, _, rest = spec.partition("=")
    number, _, type_ = rest.partition(":")
    keep = "!" in number + type_
    inline = "^" in number + type_
    number = number.rstrip("!^")
    type_ = type_.rstrip("!^")
    shape = ""
    if type_[:1] in ("[", "{"):
        shape = type_[0] + type_[-1]
        type_ = type_[1:-1]
    return _Spec(name, int(number), type_ or None, shape, keep, inline)


def _parse(table: str) -> dict[str, dict[int, _Spec]]:
    messages: dict[str, dict[int, _Spec]] = {}
    current: dict[int, _Spec] | None = None
    for line in table.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            name, _, line = line.partition(":")
            current = messages.setdefault(name.strip(), {})
        assert current is not None
        for text in line.split():
            spec = _parse_field(text)
            current[spec.number] = spec
    return messages


OVERLAY: dict[str, dict[int, _Spec]] = _parse(TABLE)


def _overlay_name(definition: str) -> str | None:
    """The overlay message of a definition: by its full name, else by its short name if that short name stands
    for this definition (see `apimachinery.schemas.resolve`)."""
    if definition in OVERLAY:
        return definition
    short = schemas.short_name(definition)
    return short if short in OVERLAY and schemas.resolve(short) == definition else None


def _derived(prop: schemas.Schema) -> tuple[str | Message | None, str, bool]:
    """(type, shape, map of lists) of a property, from the schema."""
    if prop.get("type") == "array":
        item = prop.get("items") or {}
        return _scalar_or_message(item), "[]", False
    extra = prop.get("additionalProperties")
    if prop.get("type") == "object" and isinstance(extra, dict):
        if extra.get("type") == "array":
            return _scalar_or_message(extra.get("items") or {}), "{}", True
        return _scalar_or_message(extra), "{}", False
    return _scalar_or_message(prop), "", False


def _scalar_or_message(prop: schemas.Schema) -> str | Message | None:
    ref = schemas.ref_of(prop)
    if ref is not None:
        if ref in _WELL_KNOWN:
            return _WELL_KNOWN[ref]
        overlay = _overlay_name(ref)
        return (overlay, ref) if overlay else None
    if prop.get("type") == "string" and prop.get("format") == "byte":
        return "bytes"
    return _SCHEMA_SCALARS.get(str(prop.get("type")))


def _written(spec: _Spec, context: str) -> str | Message | None:
    """The type the overlay writes, resolved (a message name resolves to its overlay and a definition)."""
    if spec.type is None or spec.type in SCALARS:
        return spec.type
    if spec.inline:
        return (spec.type, context) if spec.type in OVERLAY else None
    definition = schemas.resolve(spec.type)
    return (spec.type, definition) if definition and spec.type in OVERLAY else None


def _agrees(written: str | Message | None, derived: str | Message | None) -> bool:
    if written is None or derived is None:
        return written is None or derived is None
    if isinstance(written, tuple) and isinstance(derived, tuple):
        return written[1] == derived[1] or schemas.short_name(written[1]) == schemas.short_name(derived[1])
    if written == "bytes" and derived == "string":
        return True
    return written == derived


@cache
def fields_of(message: Message) -> dict[int, Field]:
    """The fields of a message by number, typed from the schema (an empty table for an unknown message)."""
    overlay, definition = message
    properties = (schemas.definition(definition) or {}).get("properties") or {}
    out: dict[int, Field] = {}
    for number, spec in OVERLAY.get(overlay, {}).items():
        if spec.inline:
            written = _written(spec, definition)
            if isinstance(written, tuple):
                out[number] = Field(spec.json, written, inline=True)
            continue
        prop = properties.get(spec.json)
        if prop is None:
            continue
        derived, shape, map_of_lists = _derived(prop)
        type_ = derived if derived is not None else _written(spec, definition)
        if type_ is None:
            continue  # a message without an overlay: nothing to decode it with
        out[number] = Field(
            spec.json,
            type_,
            repeated=shape == "[]",
            map=shape == "{}",
            keep_zero=spec.keep_zero,
            map_of_lists=map_of_lists,
        )
    return out


def message_for_kind(api_version: str, kind: str) -> Message | None:
    """The message of a kind's request body, or None when it cannot be decoded."""
    group, _, version = api_version.rpartition("/")
    definition = schemas.for_kind(group, version, kind) or _shared_kind(group, version, kind)
    overlay = _overlay_name(definition) if definition else None
    return (overlay, definition) if overlay and definition else None


# Options kinds that one definition declares for every group version (so `schemas.for_kind` leaves them out):
# client-go sends DeleteOptions as protobuf with a typed client's DELETE (helm's release Secrets).
_SHARED_KINDS = {"DeleteOptions": "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"}


def _shared_kind(group: str, version: str, kind: str) -> str | None:
    name = _SHARED_KINDS.get(kind)
    schema = schemas.definition(name) if name else None
    return name if schema and (group, version, kind) in schemas.gvks_of(schema) else None


def _definitions_named(name: str) -> list[str]:
    """The definition an overlay name stands for ([] for none, or for a short name several packages share
    without a preferred one: such a message must be written by its full name)."""
    definition = schemas.resolve(name)
    return [definition] if definition else []


def check() -> list[str]:
    """Problems in the overlay (empty when it is consistent with the schemas): a message that names no
    definition, a field number whose field the schema does not have, a written type that disagrees."""
    problems: list[str] = []
    embedded = {spec.type for specs in OVERLAY.values() for spec in specs.values() if spec.inline}
    for name, specs in OVERLAY.items():
        definitions = _definitions_named(name)
        if not definitions and name not in embedded:
            problems.append(f"{name}: no published definition of that name (or several: write the full name)")
        for definition in definitions:
            problems += _check_fields(name, definition, specs)
    return problems


def _check_fields(name: str, definition: str, specs: dict[int, _Spec]) -> list[str]:
    problems: list[str] = []
    properties = (schemas.definition(definition) or {}).get("properties") or {}
    for spec in specs.values():
        where = f"{name}.{spec.json}={spec.number}"
        if spec.inline:
            if spec.type not in OVERLAY:
                problems.append(f"{where}: the embedded message {spec.type!r} has no line")
                continue
            for inner in OVERLAY[str(spec.type)].values():
                if not inner.inline and inner.json not in properties:
                    problems.append(f"{where}: {definition} has no field {inner.json!r} of {spec.type}")
            continue
        prop = properties.get(spec.json)
        if prop is None:
            problems.append(f"{where}: {definition} has no field {spec.json!r}")
            continue
        derived, shape, _ = _derived(prop)
        written = _written(spec, definition)
        if spec.type is not None and (not _agrees(written, derived) or (spec.shape and spec.shape != shape)):
            problems.append(
                f"{where}: written {spec.shape[:1]}{spec.type}{spec.shape[1:]}, the schema says "
                f"{shape[:1]}{derived}{shape[1:]}"
            )
    return problems
