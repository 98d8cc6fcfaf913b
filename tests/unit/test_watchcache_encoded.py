"""The watch cache keeps each object's encoding (#24): a list from the cache joins the objects' bytes and a watch
frame wraps them, and both are byte for byte what encoding the whole document gives (Go's escaping included)."""

from __future__ import annotations

import asyncio
from typing import Any

from apimachinery import serialization
from apiserver import watchstream
from apiserver.watchcache import CachedList, WatchCache

PREFIX = "/registry/configmaps/"


def configmap(ns: str, name: str, rv: int, **data: str) -> dict[str, Any]:
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": str(rv), "labels": {"app": name[:1]}},
        "data": data,
    }


def filled() -> WatchCache:
    cache = WatchCache(PREFIX)
    cache.reset(
        {f"{PREFIX}a/x": configmap("a", "x", 1, html="<b>&</b>", sep="\u2028\u2029", big=str(2**70))}, 1
    )
    cache.apply("ADDED", f"{PREFIX}b/y", configmap("b", "y", 2, v="1"), 2)
    cache.apply("ADDED", f"{PREFIX}a/w", configmap("a", "w", 3, v="2"), 3)
    cache.apply("MODIFIED", f"{PREFIX}b/y", configmap("b", "y", 4, v="3"), 4)
    cache.apply("ADDED", f"{PREFIX}a/z", configmap("a", "z", 5, n=str(2**80)), 5)
    cache.apply("DELETED", f"{PREFIX}a/z", configmap("a", "z", 6), 6)
    return cache


def list_body(items: CachedList) -> bytes:
    return items.encoded_list(b'{"kind":"ConfigMapList","items":', b"}\n")


def test_a_cached_list_is_the_bytes_of_the_whole_document() -> None:
    cache = filled()
    for pred, prefix in ((None, None), (None, f"{PREFIX}a/"), (lambda o: o["metadata"]["name"] != "w", None)):
        entries, rev = cache.list_encoded(pred, prefix)
        items = CachedList(entries)
        assert rev == 6
        assert list_body(items) == serialization.dumps_go({"kind": "ConfigMapList", "items": list(items)})
    names = [o["metadata"]["name"] for o in CachedList(cache.list_encoded()[0])]
    assert names == ["w", "x", "y"], "key order, the deleted object gone"
    assert b"\\u003cb\\u003e\\u0026" in list_body(CachedList(cache.list_encoded()[0]))


def test_an_empty_cached_list() -> None:
    cache = WatchCache(PREFIX)
    cache.reset({}, 7)
    entries, _ = cache.list_encoded()
    assert list_body(CachedList(entries)) == b'{"kind":"ConfigMapList","items":[]}\n'


def test_lists_reuse_the_encoding_until_the_object_changes() -> None:
    cache = filled()
    first = {e.obj["metadata"]["name"]: e.data() for e in cache.list_encoded()[0]}
    again = {e.obj["metadata"]["name"]: e.data() for e in cache.list_encoded()[0]}
    assert all(first[n] is again[n] for n in first), "the same bytes objects, not encoded again"
    cache.apply("MODIFIED", f"{PREFIX}a/w", configmap("a", "w", 7, v="changed"), 7)
    after = {e.obj["metadata"]["name"]: e.data() for e in cache.list_encoded()[0]}
    assert b"changed" in after["w"] and after["x"] is first["x"]


async def test_watch_frames_wrap_the_cached_bytes() -> None:
    cache = filled()
    stream = cache.watch(0, None, timeout=5)  # the current state as ADDED, then live events
    initial = [await stream.__anext__() for _ in range(3)]
    for etype, obj, cached in initial:
        assert cached is not None
        assert cached.encoded() == serialization.dumps_go({"type": etype, "object": obj})
    listed = {e.obj["metadata"]["name"]: e.data() for e in cache.list_encoded()[0]}
    assert initial[0][2] is not None and listed["w"] in initial[0][2].encoded()
    nxt = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    cache.apply("MODIFIED", f"{PREFIX}a/x", configmap("a", "x", 8, html="<i>"), 8)
    etype, obj, cached = await nxt
    assert cached is not None and etype == "MODIFIED"
    assert watchstream._frame(etype, obj, cached, None, None) == serialization.dumps_go(  # type: ignore[arg-type]
        {"type": "MODIFIED", "object": obj}
    )
    entries = {e.obj["metadata"]["name"]: e for e in cache.list_encoded()[0]}
    assert cached._object is entries["x"], "the list shares the event's encoding"
    await stream.aclose()
