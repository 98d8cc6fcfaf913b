"""The Job controller's memory of its own status writes (controller_manager.job_tracking.StatusWrites): a sync waits
until the cached Job shows the last write or a later version."""

from __future__ import annotations

from controller_manager.job_tracking import StatusWrites


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cached(rv: str) -> dict[str, object]:
    return {"metadata": {"resourceVersion": rv}}


def test_nothing_written_nothing_to_wait_for() -> None:
    assert StatusWrites(ttl=300).wait("ns/a", cached("5")) is None


def test_waits_until_the_cache_shows_the_write_or_a_later_version() -> None:
    clock = Clock()
    writes = StatusWrites(ttl=300, clock=clock)
    writes.wrote("ns/a", "120")
    clock.now += 10
    assert writes.wait("ns/a", cached("119")) == 290.0  # stale: skip, and look again at the latest then
    assert writes.wait("ns/b", cached("1")) is None  # another Job is not held back
    assert writes.wait("ns/a", cached("1000")) is None  # a later version (a relist skipped the event) counts
    assert writes.wait("ns/a", cached("119")) is None  # caught up once: forgotten
    writes.wrote("ns/a", "130")
    assert writes.wait("ns/a", cached("130")) is None


def test_a_write_never_seen_stops_holding_the_job_after_the_ttl() -> None:
    clock = Clock()
    writes = StatusWrites(ttl=300, clock=clock)
    writes.wrote("ns/a", "120")
    clock.now += 301
    assert writes.wait("ns/a", cached("7")) is None


def test_opaque_versions_compare_for_equality_and_forget_drops_the_record() -> None:
    writes = StatusWrites(ttl=300)
    writes.wrote("ns/a", "abc")
    assert writes.wait("ns/a", cached("abd")) is not None
    assert writes.wait("ns/a", cached("abc")) is None
    writes.wrote("ns/a", "9")
    writes.forget("ns/a")
    assert writes.wait("ns/a", cached("1")) is None
