"""Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) decoded into JSON-shaped dicts.

kubectl 1.32+ sends its create generators (`kubectl create namespace|configmap|secret|service|deployment`) as
protobuf. The envelope is the 4-byte magic `k8s\\x00` and a `runtime.Unknown` message: typeMeta=1
{apiVersion=1, kind=2}, raw=2 (the object's own message), contentEncoding=3, contentType=4. The object is decoded
with the field numbers of `protobuf_schema` and the field types of the kind's published schema into the dict Go's
JSON encoding of the same object would give, so the rest of the apiserver sees exactly what a JSON client would
have sent. Fields missing from the tables are skipped
(logged at debug level), never fatal; bytes that are not valid protobuf are a 400 BadRequest.
"""

from __future__ import annotations

import base64
import json
import logging
import struct
from datetime import UTC, datetime
from typing import Any

from apimachinery import errors
from apimachinery.timefmt import format_time
from apiserver.protobuf_schema import Field, Message, fields_of, message_for_kind

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# Seconds of Go's zero time.Time (0001-01-01T00:00:00Z), which JSON also writes as null.
_GO_ZERO_TIME = -62135596800

# wire types
VARINT, I64, LEN, I32 = 0, 1, 2, 5


class Malformed(ValueError):
    """The bytes are not a well-formed protobuf message."""


def decode(body: bytes) -> dict[str, Any]:
    """The object in a Kubernetes protobuf body, as JSON would carry it (apiVersion and kind first).

    Raises a 400 StatusError for a body that is not protobuf, and a 415 one for a kind kubelite cannot decode.
    """
    try:
        return _decode(body)
    except Malformed as exc:
        raise errors.bad_request(f"the body of the request could not be decoded as protobuf: {exc}") from None


def _decode(body: bytes) -> dict[str, Any]:
    if not body.startswith(MAGIC):
        raise Malformed("it does not start with the Kubernetes protobuf magic number")
    api_version = kind = encoding = ""
    raw = b""
    for number, wire, value in fields(body[len(MAGIC) :]):
        if number == 1 and wire == LEN:
            for n, w, v in fields(_bytes(value)):
                if n == 1 and w == LEN:
                    api_version = _text(v)
                elif n == 2 and w == LEN:
                    kind = _text(v)
        elif number == 2 and wire == LEN:
            raw = _bytes(value)
        elif number == 3 and wire == LEN:
            encoding = _text(value)
    if encoding:
        raise Malformed(f"content encoding {encoding!r} is not supported")
    message = message_for_kind(api_version, kind)
    if message is None:
        raise errors.StatusError(
            415,
            "UnsupportedMediaType",
            f"protobuf bodies of kind {kind!r} in {api_version!r} are not supported; send JSON",
        )
    return {"apiVersion": api_version, "kind": kind, **message_to_dict(message, raw)}


# ---- wire format ----------------------------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise Malformed("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise Malformed("varint longer than 10 bytes")


def fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """The (field number, wire type, value) triples of one message, in order; LEN values as bytes."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Malformed("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == LEN:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise Malformed(f"field {number} runs past the end of its message")
            value = data[pos : pos + size]
            pos += size
        elif wire in (I64, I32):
            width = 8 if wire == I64 else 4
            if pos + width > len(data):
                raise Malformed(f"field {number} runs past the end of its message")
            value = int.from_bytes(data[pos : pos + width], "little")
            pos += width
        else:
            raise Malformed(f"unsupported wire type {wire} in field {number}")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    """int32/int64 varints are two's complement over 64 bits."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise Malformed("a length-delimited field was expected")
    return value


def _text(value: int | bytes) -> str:
    try:
        return _bytes(value).decode()
    except UnicodeDecodeError:
        raise Malformed("a string field is not valid UTF-8") from None


# ---- messages -------------------------------------------------------------------------------------------------


def message_to_dict(message: Message, data: bytes) -> dict[str, Any]:
    """Decode a message into its JSON form."""
    table = fields_of(message)
    name = message[0]
    out: dict[str, Any] = {}
    for number, wire, value in fields(data):
        field = table.get(number)
        if field is None:
            log.debug("skipping unknown protobuf field %s.%d (wire type %d)", name, number, wire)
            continue
        if field.map:
            key, item = _map_entry(field, _bytes(value))
            out.setdefault(field.json, {})[key] = item
        elif field.repeated:
            out.setdefault(field.json, []).extend(_repeated(field, wire, value))
        else:
            decoded = _single(field, wire, value)
            if field.inline:
                out.update(decoded)
            elif field.keep_zero or field.type not in ("string", "int", "bool", "double") or decoded:
                out[field.json] = decoded
            else:
                out.pop(field.json, None)  # a zero non-pointer scalar: omitempty drops it
    return out


def _map_entry(field: Field, data: bytes) -> tuple[str, Any]:
    key: str = ""
    item: Any = [] if field.map_of_lists else _zero(field.type)
    for number, wire, value in fields(data):
        if number == 1:
            key = _text(value)
        elif number == 2 and field.map_of_lists:
            # map[string][]T: the value is a message whose field 1 holds the items
            item = [_single(field, w, v) for n, w, v in fields(_bytes(value)) if n == 1]
        elif number == 2:
            item = _single(field, wire, value)
    return key, item


def _repeated(field: Field, wire: int, value: int | bytes) -> list[Any]:
    if wire == LEN and field.type in ("int", "bool"):  # a packed run of varints
        data, pos, items = _bytes(value), 0, []
        while pos < len(data):
            item, pos = _varint(data, pos)
            items.append(_scalar_int(field.type, item))
        return items
    return [_single(field, wire, value)]


def _single(field: Field, wire: int, value: int | bytes) -> Any:
    kind = field.type
    if isinstance(kind, tuple):
        return message_to_dict(kind, _bytes(value))
    if kind == "double":
        if wire != I64 or not isinstance(value, int):
            raise Malformed(f"field {field.json} should be a 64-bit number")
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    if kind in ("int", "bool"):
        if not isinstance(value, int) or wire not in (VARINT, I32, I64):
            raise Malformed(f"field {field.json} should be a number")
        return _scalar_int(kind, value)
    data = _bytes(value)
    if kind == "string":
        return _text(data)
    if kind == "bytes":
        return base64.b64encode(data).decode()
    if kind in ("Time", "MicroTime"):
        return _time(data, micro=kind == "MicroTime")
    if kind == "Quantity":
        return _first_string(data)
    if kind == "IntOrString":
        return _int_or_string(data)
    if kind in ("FieldsV1", "RawExtension"):
        raw = b"".join(_bytes(v) for n, _, v in fields(data) if n == 1)
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise Malformed(f"field {field.json} does not hold JSON") from None
    raise AssertionError(f"unknown scalar type {kind!r}")


def _scalar_int(kind: str, value: int) -> int | bool:
    return bool(value) if kind == "bool" else _signed(value)


def _zero(kind: str | Message) -> Any:
    if isinstance(kind, tuple):
        return {}
    return {"string": "", "int": 0, "bool": False, "bytes": "", "Quantity": "0"}.get(kind)


def _first_string(data: bytes) -> str:
    """resource.Quantity is a message with the canonical string in field 1."""
    for number, _, value in fields(data):
        if number == 1:
            return _text(value)
    return "0"


def _int_or_string(data: bytes) -> int | str:
    type_, int_val, str_val = 0, 0, ""
    for number, _, value in fields(data):
        if number == 1 and isinstance(value, int):
            type_ = value
        elif number == 2 and isinstance(value, int):
            int_val = _signed(value)
        elif number == 3:
            str_val = _text(value)
    return str_val if type_ == 1 else int_val


def _time(data: bytes, micro: bool) -> str | None:
    """meta/v1 Time {seconds=1, nanos=2} as RFC 3339; the zero time is JSON null, as Go writes it."""
    seconds = nanos = 0
    for number, _, value in fields(data):
        if number == 1 and isinstance(value, int):
            seconds = _signed(value)
        elif number == 2 and isinstance(value, int):
            nanos = _signed(value)
    if nanos == 0 and seconds in (0, _GO_ZERO_TIME):
        return None
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed(f"time {seconds} is out of range") from None
    return format_time(moment.replace(microsecond=nanos // 1000) if micro else moment, micro)
