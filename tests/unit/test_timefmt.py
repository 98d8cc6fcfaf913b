"""RFC 3339 times as Kubernetes writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apimachinery.timefmt import format_time, now_rfc3339, parse_time, parse_time_or_none


def test_timestamps() -> None:
    stamp = now_rfc3339()
    assert len(stamp) == 20 and stamp.endswith("Z")
    assert abs(parse_time(stamp) - datetime.now(UTC)) < timedelta(seconds=5)
    micro = now_rfc3339(micro=True)
    assert micro.endswith("Z") and "." in micro
    assert parse_time("2026-11-27T08:17:33Z") == datetime(2026, 11, 27, 8, 17, 33, tzinfo=UTC)
    assert parse_time("2026-11-27T09:17:33+01:00") == datetime(2026, 11, 27, 8, 17, 33, tzinfo=UTC)
    assert parse_time("2026-11-27T08:17:33.250000Z").microsecond == 250000
    with pytest.raises(ValueError):
        parse_time("2026-11-27T08:17:33")
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_format_and_lenient_parse() -> None:
    when = datetime(2026, 11, 27, 8, 17, 33, 250000, tzinfo=UTC)
    assert format_time(when) == "2026-11-27T08:17:33Z"
    assert format_time(when, micro=True) == "2026-11-27T08:17:33.250000Z"
    assert parse_time_or_none(None) is None
    assert parse_time_or_none("not a time") is None
    assert parse_time_or_none("2026-11-27T08:17:33Z") == when.replace(microsecond=0)
