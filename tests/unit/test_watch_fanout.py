"""Watch fan-out (#26): an event is serialized once for all its watchers; a watch knows how many events are ready
(so its response writes a burst at once); a watcher that cannot keep up is closed, never slowing the writer."""

from __future__ import annotations

import asyncio

from apiserver.watchcache import WatchCache, events_ready


def obj(name: str, rv: int) -> dict[str, object]:
    return {"metadata": {"name": name, "resourceVersion": str(rv)}}


async def test_one_encoding_shared_by_every_watcher() -> None:
    cache = WatchCache("/registry/configmaps/")
    cache.reset({}, 1)
    streams = [cache.watch(1, None, timeout=5) for _ in range(3)]
    # Start each watch (they register as watchers on their first step), then write.
    pending = [s.__anext__() for s in streams]
    tasks = [asyncio.ensure_future(p) for p in pending]
    await asyncio.sleep(0)
    cache.apply("ADDED", "/registry/configmaps/ns/a", obj("a", 2), 2)
    got = await asyncio.gather(*tasks)
    events = {id(cached) for _type, _obj, cached in got}
    assert len(events) == 1, "the same CacheEvent for all three"
    frames = {id(cached.encoded()) for _type, _obj, cached in got if cached is not None}
    assert len(frames) == 1, "encoded once, the same bytes for all three"
    for s in streams:
        await s.aclose()


async def test_events_ready_counts_what_a_watch_can_take_without_waiting() -> None:
    cache = WatchCache("/registry/configmaps/")
    cache.reset({}, 1)
    for rv in (2, 3, 4):
        cache.apply("ADDED", f"/registry/configmaps/ns/r{rv}", obj(f"r{rv}", rv), rv)
    stream = cache.watch(1, None, timeout=5)  # a replay of 3 buffered events
    first = await stream.__anext__()
    assert first[1]["metadata"]["name"] == "r2"
    assert events_ready() == 2
    for rv in (5, 6):
        cache.apply("ADDED", f"/registry/configmaps/ns/r{rv}", obj(f"r{rv}", rv), rv)
    assert events_ready() == 4, "two replayed and two live events wait"
    names = [(await stream.__anext__())[1]["metadata"]["name"] for _ in range(4)]
    assert names == ["r3", "r4", "r5", "r6"]
    assert events_ready() == 0
    await stream.aclose()


async def test_a_slow_watcher_is_closed_instead_of_slowing_the_writer() -> None:
    cache = WatchCache("/registry/configmaps/", watcher_capacity=3)
    cache.reset({}, 1)
    slow = cache.watch(1, None, timeout=5)
    cache.apply("ADDED", "/registry/configmaps/ns/a", obj("a", 2), 2)
    assert (await slow.__anext__())[1]["metadata"]["name"] == "a"
    for rv in range(3, 10):  # the writer never waits: apply() returns at once
        cache.apply("ADDED", f"/registry/configmaps/ns/x{rv}", obj(f"x{rv}", rv), rv)
    assert not cache.watchers, "closed after its 3 buffered events overflowed"
    rest = [item async for item in slow]
    assert rest == [], "the stream ends; the client resumes from revision 2, the last it saw"
    resumed = cache.watch(2, None, timeout=0.05)
    names = [item[1]["metadata"]["name"] async for item in resumed]
    assert names == [f"x{rv}" for rv in range(3, 10)]
