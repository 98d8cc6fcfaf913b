"""Server-set metadata: uids, timestamps, generated names, generation; and the helpers to read object identity."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from apimachinery.timefmt import format_time, now_rfc3339

Obj = dict[str, Any]

# The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    return now_rfc3339()


def later(seconds: int) -> str:
    """The time `seconds` from now; a grace period too long for the calendar ends at its last second."""
    try:
        moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    except OverflowError:
        moment = dt.datetime.max.replace(tzinfo=dt.UTC)
    return format_time(moment)


def new_uid() -> str:
    return str(uuid.uuid4())


def generate_name(prefix: str) -> str:
    # Kubernetes caps the prefix so that prefix + 5 characters fits the 63-character limit.
    return prefix[:58] + "".join(random.choices(_SUFFIX_ALPHABET, k=5))


def meta(obj: Obj) -> Obj:
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = obj["metadata"] = {}
    return md


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def namespace_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def resource_version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def spec_changed(old: Obj, new: Obj) -> bool:
    """What bumps metadata.generation: anything but metadata and status (as Kubernetes' strategies do)."""
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)
