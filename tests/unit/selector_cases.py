"""Cases that label selectors and field selectors must answer alike, being the same equality-based language:
(selector text, key, the value the selector requires that key to have exactly, or None)."""

from __future__ import annotations

EXACT_MATCH = [
    ("x=a", "x", "a"),
    ("y=a", "x", None),
    ("x!=a", "x", None),
    ("x==a,b!=y", "x", "a"),
    ("x=a,b!=y", "b", None),
    ("x=", "x", ""),
]
