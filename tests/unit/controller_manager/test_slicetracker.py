from controller_manager.slicetracker import SliceTracker


def _slice(name: str, generation: int) -> dict:
    return {"metadata": {"name": name, "generation": generation}}


def test_a_created_slice_missing_from_the_cache_is_stale_until_seen() -> None:
    t = SliceTracker()
    t.wrote("ns/web", _slice("web-abc", 1))
    assert t.stale("ns/web", [])
    assert not t.stale("ns/web", [_slice("web-abc", 1)])
    assert not t.stale("ns/web", [])  # caught up once: the record is gone


def test_an_older_generation_in_the_cache_is_stale() -> None:
    t = SliceTracker()
    t.wrote("ns/web", _slice("web-abc", 3))
    assert t.stale("ns/web", [_slice("web-abc", 2)])
    assert not t.stale("ns/web", [_slice("web-abc", 4)])


def test_a_deleted_slice_still_cached_is_stale() -> None:
    t = SliceTracker()
    t.deleted("ns/web", "web-old")
    assert t.stale("ns/web", [_slice("web-old", 1)])
    assert not t.stale("ns/web", [])


def test_services_are_tracked_apart() -> None:
    t = SliceTracker()
    t.wrote("ns/web", _slice("web-abc", 1))
    assert not t.stale("ns/db", [])
    t.forget("ns/web")
    assert not t.stale("ns/web", [])
