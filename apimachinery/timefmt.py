"""Time as Kubernetes writes it (RFC 3339 `Time` and `MicroTime`) and as kubectl prints it (the short human
durations of AGE columns and describe output)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(t: datetime, micro: bool = False) -> str:
    """`t` in UTC as Kubernetes writes a `Time` ("...:33Z") or, with `micro`, a `MicroTime` ("...:33.250000Z")."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def format_epoch(epoch: float, micro: bool = False) -> str:
    """A Unix time as `format_time` writes it."""
    return format_time(datetime.fromtimestamp(epoch, UTC), micro)


def now_rfc3339(micro: bool = False) -> str:
    """The current UTC time as Kubernetes writes a `Time` ("...:33Z") or, with `micro`, a `MicroTime`."""
    return format_time(datetime.now(UTC), micro)


def parse_time(value: str, *, naive_utc: bool = False) -> datetime:
    """An aware datetime from an RFC 3339 string ("Z" or an offset, optional fraction). ValueError if malformed,
    and for a timestamp without a zone unless `naive_utc` (then it is read as UTC, as lenient readers do)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        if naive_utc:
            return parsed.replace(tzinfo=UTC)
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed


def parse_time_or_none(value: object, *, naive_utc: bool = False) -> datetime | None:
    """`parse_time`, but None for an absent, empty or malformed timestamp (for fields a reader may skip)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value, naive_utc=naive_utc)
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """kubectl's short duration (`5s`, `3m2s`, `2d3h`, `3y`), as apimachinery's duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"
