"""Kubernetes resource quantities ("500m", "1.5", "128Mi", "1G") to numbers, for Docker limits."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}


def parse_quantity(text: str | int | float) -> Decimal:
    """The value of a quantity as a Decimal; ValueError when it is not one."""
    s = str(text).strip()
    for suffix, factor in _BINARY.items():
        if s.endswith(suffix):
            return _number(s[: -len(suffix)]) * factor
    if s and s[-1] in _DECIMAL and not s[-1].isdigit():
        # "1e3" is an exponent, not the suffix "e"; only the listed letters are suffixes.
        return _number(s[:-1]) * _DECIMAL[s[-1]]
    return _number(s)


def _number(s: str) -> Decimal:
    try:
        return Decimal(s)
    except InvalidOperation:
        raise ValueError(f"invalid quantity {s!r}") from None


def cpu_millis(text: str | int | float) -> int:
    """CPU in millicores, rounded up as the kubelet does ("100m" -> 100, "1.5" -> 1500)."""
    return int((parse_quantity(text) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def memory_bytes(text: str | int | float) -> int:
    return int(parse_quantity(text).to_integral_value(rounding="ROUND_CEILING"))
