"""A watch cache made at run time (a custom resource's) is filled from a list while events already arrive."""

from __future__ import annotations

from apiserver.watchcache import WatchCache


def obj(name: str, rv: int) -> dict[str, object]:
    return {"metadata": {"name": name, "resourceVersion": str(rv)}}


async def test_events_during_the_list_win_over_it() -> None:
    cache = WatchCache("/registry/example.com/widgets/")
    # Events after revision 10 arrive before the list at revision 10 returns.
    cache.apply("MODIFIED", "/registry/example.com/widgets/ns/a", obj("a", 11), 11)
    cache.apply("DELETED", "/registry/example.com/widgets/ns/b", obj("b", 12), 12)
    assert not cache.ready.is_set()
    listed = {
        "/registry/example.com/widgets/ns/a": obj("a", 5),
        "/registry/example.com/widgets/ns/b": obj("b", 6),
        "/registry/example.com/widgets/ns/c": obj("c", 7),
    }
    cache.fill(listed, 10)
    assert cache.ready.is_set()
    assert cache.get("/registry/example.com/widgets/ns/a") == obj("a", 11)
    assert cache.get("/registry/example.com/widgets/ns/b") is None, "deleted after the list"
    assert cache.get("/registry/example.com/widgets/ns/c") == obj("c", 7)
    assert (cache.revision, cache.oldest) == (12, 10)
    events = [item async for item in _replay(cache, 10)]
    assert [e[0] for e in events] == ["ADDED", "DELETED"], (
        "what arrived after the list can be watched from it"
    )


async def _replay(cache: WatchCache, revision: int):  # type: ignore[no-untyped-def]
    stream = cache.watch(revision, None, timeout=0.01)
    async for item in stream:
        yield item
