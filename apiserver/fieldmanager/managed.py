"""`metadata.managedFields` read and written: one entry per manager, operation, API version and subresource.

As kube-apiserver keeps them (k8s.io/apimachinery/pkg/util/managedfields/internal/managedfields.go): an Apply
entry is one per manager whatever the API version it applied at; Update entries are one per manager and version;
entries are written sorted by operation, then time, manager, API version and subresource; an entry whose field set
is empty is dropped. At most ten Update entries are kept: the oldest are merged into "ancient-changes"
(capmanagers.go).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from apimachinery import fieldpath
from apimachinery.fieldpath import FieldSet, Path
from apimachinery.timefmt import parse_time_or_none

APPLY = "Apply"
UPDATE = "Update"
MAX_UPDATE_MANAGERS = 10
ANCIENT = "ancient-changes"

Identity = tuple[str, str, str, str]  # manager, operation, apiVersion ("" for Apply), subresource


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def identity(self) -> Identity:
        return identity(self.manager, self.operation, self.api_version, self.subresource)

    @property
    def applied(self) -> bool:
        return self.operation == APPLY


Managed = dict[Identity, Entry]


def identity(manager: str, operation: str, api_version: str, subresource: str = "") -> Identity:
    """BuildManagerIdentifier: an Apply entry is the same whatever its API version."""
    return (manager or "unknown", operation, "" if operation == APPLY else api_version, subresource)


def decode(entries: Any) -> Managed:
    """Entries of `metadata.managedFields`; ValueError when one is malformed (as DecodeManagedFields)."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    managed: Managed = {}
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise ValueError(f"managed fields entry {i} is not an object")
        operation = raw.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        if not raw.get("apiVersion"):
            raise ValueError("apiVersion must not be empty")
        if raw.get("fieldsType") != "FieldsV1":
            raise ValueError(f"invalid fieldsType {raw.get('fieldsType')!r} in managed fields entry {i}")
        entry = Entry(
            manager=str(raw.get("manager") or ""),
            operation=operation,
            api_version=str(raw["apiVersion"]),
            fields=_from_fields_v1(raw.get("fieldsV1") or {}),
            time=raw.get("time"),
            subresource=str(raw.get("subresource") or ""),
        )
        managed[entry.identity] = entry
    return managed


def is_reset(entries: Any) -> bool:
    """`managedFields: [{}]` (or `[]`) in a request clears the managed fields."""
    return isinstance(entries, list) and (not entries or entries == [{}])


def encode(managed: Managed) -> list[dict[str, Any]] | None:
    """The `metadata.managedFields` list (None when there is nothing to write)."""
    entries = [e for e in managed.values() if e.fields]
    if not entries:
        return None
    entries.sort(key=lambda e: (e.operation, _seconds(e.time), e.manager, e.api_version, e.subresource))
    out = []
    for e in entries:
        raw: dict[str, Any] = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
        if e.time:
            raw["time"] = e.time
        raw["fieldsType"] = "FieldsV1"
        raw["fieldsV1"] = _to_fields_v1(e.fields)
        if e.subresource:
            raw["subresource"] = e.subresource
        out.append(raw)
    return out


# Field sets by their FieldsV1 document and back. Objects of one shape (the pods of one template, each status
# write of a kubelet) carry the same sets, so every write would otherwise decode and encode the same trees again.
_DECODED: dict[bytes, frozenset[Path]] = {}
_ENCODED: dict[frozenset[Path], bytes] = {}
_REMEMBERED = 2048  # sets per table; a full table starts again


def _from_fields_v1(doc: Any) -> FieldSet:
    try:
        text = orjson.dumps(doc)
    except TypeError:
        return fieldpath.from_fields_v1(doc)
    found = _DECODED.get(text)
    if found is None:
        found = frozenset(fieldpath.from_fields_v1(doc))
        if len(_DECODED) >= _REMEMBERED:
            _DECODED.clear()
        _DECODED[text] = found
    return set(found)


def _to_fields_v1(fields: FieldSet) -> dict[str, Any]:
    frozen = frozenset(fields)
    text = _ENCODED.get(frozen)
    if text is None:
        text = orjson.dumps(fieldpath.to_fields_v1(frozen))
        if len(_ENCODED) >= _REMEMBERED:
            _ENCODED.clear()
        _ENCODED[frozen] = text
    tree: dict[str, Any] = orjson.loads(text)  # a tree of its own for each object
    return tree


def _seconds(stamp: str | None) -> float:
    parsed = parse_time_or_none(stamp, naive_utc=True)
    return parsed.timestamp() if parsed else 0.0


def cap_updates(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """Merge the oldest Update entries into one "ancient-changes" entry per API version until `limit` remain."""
    updaters = sorted(
        (e for e in managed.values() if not e.applied), key=lambda e: (_seconds(e.time), e.manager)
    )
    count = len(updaters)
    first_by_version: dict[str, Entry] = {}
    for e in updaters:
        if count <= limit:
            break
        bucket_id = identity(ANCIENT, UPDATE, e.api_version)
        first = first_by_version.get(e.api_version)
        if first is None:
            first_by_version[e.api_version] = e
            continue
        bucket = managed.get(bucket_id)
        if bucket is None:
            del managed[first.identity]
            bucket = Entry(ANCIENT, UPDATE, e.api_version, set(first.fields), first.time)
            managed[bucket_id] = bucket
        bucket.fields |= e.fields
        bucket.time = e.time
        del managed[e.identity]
        count -= 1
