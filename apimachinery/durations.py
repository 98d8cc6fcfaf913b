"""Go durations (`time.ParseDuration`): `300ms`, `1m30s`, `2h45m`, `1.5h`; the one parser every flag and field uses.

    parse_go_duration      exactly Go's units (ns, us/µs, ms, s, m, h), at least one part; "0" alone is zero
    parse_flag_duration    the same, or a bare number of seconds (`15`, `2.5`), as our command lines accept

Both return seconds as a float and raise ValueError for anything else (signs are not accepted: no caller has a
use for a negative duration).
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string; ValueError when it is not one."""
    if text == "0":
        return 0.0
    total, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"invalid duration {text!r}")
    return total


def parse_flag_duration(text: str) -> float:
    """A Go duration or a bare number of seconds (surrounding blanks ignored); ValueError otherwise."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    return parse_go_duration(text)
