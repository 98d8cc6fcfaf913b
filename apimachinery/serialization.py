"""JSON for the hot paths: orjson (measured ~4x faster than the standard library on API objects), with the
standard library as the fallback for what orjson refuses (integers beyond 64 bits, non-string keys)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (as json.loads does) on malformed input."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson refuses a few inputs the standard library takes (huge integers); let it decide.
        return json.loads(data)


# Go's encoding/json escapes these even inside strings (HTML safety; U+2028/2029 for JavaScript). They can only occur
# inside JSON strings, so replacing their bytes in the encoded document is exact. Single bytes are searched first
# (memchr-fast); the separators only when their lead byte occurs at all.
_HTML_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))
_SEPARATORS = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


def dumps_go(obj: Any, *, sort_keys: bool = False) -> bytes:
    """The bytes kube-apiserver writes for an API object: compact JSON as Go's json.Encoder produces it (HTML
    characters escaped as \\u003c..., the document followed by a newline). `sort_keys` writes maps as Go writes
    a map[string]interface{} (an unstructured object): keys sorted."""
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        data = orjson.dumps(obj, option=option)
    except TypeError:
        data = (
            json.dumps(obj, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False).encode() + b"\n"
        )
    for raw, escaped in _HTML_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    if b"\xe2" in data:
        for raw, escaped in _SEPARATORS:
            data = data.replace(raw, escaped)
    return data
