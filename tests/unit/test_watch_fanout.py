"""Watch fan-out (#26): an event is serialized once for all its watchers; a watch knows how many events are ready
(so its response writes a burst at once); a watcher that cannot keep up is closed, never slowing the writer."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from apimachinery.resources import must_resource
from apiserver import watchstream
from apiserver.watchcache import WatchCache, events_ready

CONFIGMAPS = must_resource("", "configmaps")


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


def _events(chunk: bytes) -> list[str]:
    return [orjson.loads(line)["object"]["metadata"]["name"] for line in chunk.splitlines()]


async def test_a_quiet_watch_writes_its_next_event_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchstream, "FLUSH_INTERVAL", 3600.0)  # a write that waited for it would never come
    cache = WatchCache("/registry/configmaps/")
    cache.reset({}, 1)
    body = watchstream._body(cache.watch(1, None, timeout=30), CONFIGMAPS, None)
    cache.apply("ADDED", "/registry/configmaps/ns/a", obj("a", 2), 2)
    assert _events(await asyncio.wait_for(anext(body), 10)) == ["a"]
    await body.aclose()


async def test_a_busy_watch_takes_the_events_of_its_flush_interval_in_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watchstream, "FLUSH_INTERVAL", 2.0)
    monkeypatch.setattr(watchstream, "RATE_WINDOW", 0.0)  # busy from its first write on
    cache = WatchCache("/registry/configmaps/")
    cache.reset({}, 1)
    body = watchstream._body(cache.watch(1, None, timeout=30), CONFIGMAPS, None)
    cache.apply("ADDED", "/registry/configmaps/ns/a", obj("a", 2), 2)
    assert _events(await anext(body)) == ["a"]
    cache.apply("ADDED", "/registry/configmaps/ns/b", obj("b", 3), 3)
    second = asyncio.ensure_future(anext(body))
    await asyncio.sleep(0)  # the watch has taken "b" and waits out the interval since its last write
    assert not second.done()
    for rv, name in ((4, "c"), (5, "d")):
        cache.apply("ADDED", f"/registry/configmaps/ns/{name}", obj(name, rv), rv)
    assert _events(await asyncio.wait_for(second, 10)) == ["b", "c", "d"], "one write, in order"
    await body.aclose()


async def test_every_watcher_shares_the_one_encoding_in_its_writes() -> None:
    cache = WatchCache("/registry/configmaps/")
    cache.reset({}, 1)
    bodies = [watchstream._body(cache.watch(1, None, timeout=30), CONFIGMAPS, None) for _ in range(3)]
    firsts = [asyncio.ensure_future(anext(b)) for b in bodies]
    await asyncio.sleep(0)
    cache.apply("ADDED", "/registry/configmaps/ns/a", obj("a", 2), 2)
    writes = await asyncio.wait_for(asyncio.gather(*firsts), 10)
    assert len({id(w) for w in writes}) == 1, (
        "a write of one shared event is the event's own bytes, not a copy"
    )
    assert cache.buffer[-1].encoded() is writes[0]
    for b in bodies:
        await b.aclose()


def test_a_watch_batches_only_while_its_events_come_faster_than_the_busy_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watchstream, "FLUSH_INTERVAL", 0.05)
    monkeypatch.setattr(watchstream, "BUSY_EVENTS", 2)  # busy above 40 events a second
    pacer = watchstream.Pacer(now=100.0)
    for i in range(20):  # 20 events a second, one per write: never waits
        assert pacer.wait(100.0 + i * 0.05) <= 0
        pacer.wrote(100.0 + i * 0.05, 1)
    pacer.wrote(101.0, 1)
    assert pacer.wait(101.01) <= 0
    for i in range(10):  # 200 events a second, arriving in fives
        pacer.wrote(101.0 + (i + 1) * 0.1, 20)
    assert pacer.busy and pacer.wait(102.01) == pytest.approx(0.04)
    pacer.wrote(104.0, 1)  # quiet for two seconds: at once again
    assert not pacer.busy and pacer.wait(104.001) <= 0


def test_busy_events_0_makes_every_watch_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchstream, "FLUSH_INTERVAL", 0.4)
    monkeypatch.setattr(watchstream, "BUSY_EVENTS", 0)
    pacer = watchstream.Pacer(now=0.0)
    pacer.wrote(0.1, 1)
    assert pacer.wait(0.2) == pytest.approx(0.3)
