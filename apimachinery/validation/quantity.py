"""Kubernetes quantities (`100m`, `128Mi`, `1e3`): the accepted format, its message, and `parse_quantity`."""

from __future__ import annotations

import re
from decimal import Decimal

QUANTITY_FORMAT = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_MSG_QUANTITY = f"quantities must match the regular expression '{QUANTITY_FORMAT}'"
_RE_QUANTITY = re.compile(QUANTITY_FORMAT[1:-1])  # used with fullmatch
_RE_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_RE_EXPONENT = re.compile(r"[eE][-+]?\d+")
_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
}


def parse_quantity(value: str | int | float) -> float:
    """A Kubernetes quantity as a number: "100m" -> 0.1, "128Mi" -> 134217728, "1G" -> 1e9, "1e3" -> 1000.

    Bare numbers (as YAML gives them) are taken as they are. Raises ValueError on anything else.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"invalid quantity: {value!r}")
        return float(value)
    return float(parse_quantity_exact(value))


def parse_quantity_exact(value: str | int | float) -> Decimal:
    """`parse_quantity` as an exact Decimal ("100m" is 0.100, never 0.1000000000000000055): the scheduler counts
    millicores and bytes with it."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"invalid quantity: {value!r}")
    if not isinstance(value, str):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"invalid quantity: {value!r}")
        return Decimal(str(value))
    match = _RE_QUANTITY.fullmatch(value)
    if not match or not _RE_NUMBER.fullmatch(match.group(1)):
        raise ValueError(f"invalid quantity: {value!r}")
    number, suffix = match.groups()
    if suffix not in _SUFFIXES and not _RE_EXPONENT.fullmatch(suffix):
        raise ValueError(f"invalid quantity: {value!r}")
    try:
        scale = _SUFFIXES[suffix] if suffix in _SUFFIXES else Decimal(10) ** int(suffix[1:])
        exact = Decimal(number) * scale
        float(exact)  # a quantity must fit a float (what every other caller gets)
    except (ArithmeticError, ValueError) as exc:
        raise ValueError(f"invalid quantity: {value!r}") from exc
    return exact
