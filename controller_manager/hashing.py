"""The pod-template-hash: a stable name suffix for a Deployment's ReplicaSet of one pod template.

Kubernetes hashes the template with FNV-1a (32 bit), mixes in `status.collisionCount`, and renders the decimal
number through `rand.SafeEncodeString` (an alphabet without vowels or look-alike digits, so names spell no words).
Go's object dump cannot be reproduced in Python, so we hash canonical JSON (sorted keys) instead: the value differs
from a real cluster's, but it is stable across processes and restarts, which is the property that matters.
"""

from __future__ import annotations

import copy
import json
from typing import Any

HASH_LABEL = "pod-template-hash"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, h: int = _FNV_OFFSET) -> int:
    for byte in data:
        h ^= byte
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(s: str) -> str:
    """Kubernetes' rand.SafeEncodeString: each byte picks a letter from a vowel-free alphabet."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in s)


def without_hash_label(template: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a pod template with the pod-template-hash label removed."""
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels and HASH_LABEL in labels:
        del labels[HASH_LABEL]
        if not labels:
            del t["metadata"]["labels"]
    if "metadata" in t and not t["metadata"]:
        del t["metadata"]
    return t


def compute_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    canonical = json.dumps(without_hash_label(template), sort_keys=True, separators=(",", ":"))
    h = fnv32a(canonical.encode())
    if collision_count is not None:
        # Go writes the uint32 in little-endian order into the hasher.
        h = fnv32a(int(collision_count & 0xFFFFFFFF).to_bytes(4, "little"), h)
    return safe_encode(str(h))


def templates_equal(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Equal pod templates, ignoring the pod-template-hash label (Kubernetes' EqualIgnoreHash)."""
    return without_hash_label(a or {}) == without_hash_label(b or {})
