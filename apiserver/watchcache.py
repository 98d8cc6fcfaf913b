"""The watch cache, like kube-apiserver's cacher: one storage watch feeds, per resource type, an in-memory copy of
every object and a ring buffer of recent events. Client watches and lists are served from here, so N watchers cost
one storage watch.

Unlike kube-apiserver, kubelite runs a single storage watch on the whole `/registry/` prefix rather than one per
resource type. All caches then share one revision clock: after any write at revision R, every cache knows within
one event whether it has seen everything up to R, which is what makes consistent lists from the cache cheap (Kubernetes
needs etcd progress notifications for that, which aetcd does not offer).

Contract:
* `list_objects()` returns the cached objects at `revision` (a consistent snapshot: the loop that applies events is
  the only writer and never awaits between applying an event and bumping the revision).
* `watch(from_revision, ...)` replays buffered events newer than `from_revision`, then live ones. A revision older
  than the buffer raises StatusError 410 Expired, exactly as Kubernetes does ("too old resource version").
* A watcher that cannot keep up (its queue is full) is terminated, not allowed to grow memory without bound; the
  client re-watches from the last revision it saw.
* When the storage watch fails (compaction, etcd restart that loses history), the cache relists and terminates every
  watcher, so clients resume or relist; a relist converges to storage.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors, serialization

log = logging.getLogger("apiserver.watchcache")

Obj = dict[str, Any]
Filter = Callable[[Obj], bool]


class Encoded:
    """One cached object and its JSON bytes as Go writes them (no trailing newline), encoded on first use and then
    shared by every list and watch frame that carries this version of the object (kube-apiserver's cachingObject)."""

    __slots__ = ("_data", "obj")

    def __init__(self, obj: Obj) -> None:
        self.obj = obj
        self._data: bytes | None = None

    def data(self) -> bytes:
        if self._data is None:
            self._data = serialization.dumps_go(self.obj)[:-1]
        return self._data


@dataclass
class CacheEvent:
    type: str
    obj: Obj
    prev: Obj | None
    revision: int
    _object: Encoded | None = field(default=None, repr=False)
    _encoded: bytes | None = field(default=None, repr=False)

    def encoded(self) -> bytes:
        """The NDJSON frame, encoded once however many watchers receive it; the object's bytes are the cache's."""
        if self._encoded is None:
            if self._object is None:
                self._object = Encoded(self.obj)
            self._encoded = b'{"type":"%s","object":%s}\n' % (self.type.encode(), self._object.data())
        return self._encoded


class CachedList(list[Obj]):
    """Objects listed from the cache, with their shared encodings (`entries`, in the same order): a response may
    join their bytes instead of encoding the objects again. Any other list (a converted copy) has none."""

    def __init__(self, entries: list[Encoded]) -> None:
        super().__init__(e.obj for e in entries)
        self.entries = entries

    def encoded_list(self, head: bytes, tail: bytes) -> bytes:
        """`head`, the JSON array of the items as Go would encode it, then `tail`: one copy of the objects' bytes
        (a list body of 10,000 pods is ~20 MB)."""
        parts = [e.data() for e in self.entries]
        if not parts:
            return head + b"[]" + tail
        parts[0] = head + b"[" + parts[0]
        parts[-1] = parts[-1] + b"]" + tail
        return b",".join(parts)


def frame(event_type: str, obj: Obj) -> bytes:
    return serialization.dumps_go({"type": event_type, "object": obj})


Item = tuple[str, Obj, CacheEvent | None]


class Watcher:
    """One client watch: a bounded queue filled by the cache's dispatch loop.

    A deque and one future to wake the reader, not an asyncio.Queue and asyncio.wait_for: this runs once per event
    per watcher, and wait_for (Python 3.11) makes a task for every wait."""

    def __init__(self, predicate: Filter | None, from_revision: int, capacity: int) -> None:
        self.predicate = predicate
        self.from_revision = from_revision
        self.capacity = capacity
        self.items: collections.deque[Item | None] = collections.deque()  # None: the end
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.backlog = 0  # initial events (a replay or a list) not yet yielded

    def offer(self, event: CacheEvent) -> None:
        if self.closed or event.revision <= self.from_revision:
            return
        item = self._translate(event)
        if item is None:
            return
        if len(self.items) >= self.capacity:
            log.warning("terminating a watcher that cannot keep up", extra={"revision": event.revision})
            self.terminate()
            return
        self._push(item)

    def _push(self, item: Item | None) -> None:
        self.items.append(item)
        if self.waiter is not None:
            _release(self.waiter)
            self.waiter = None

    async def next(self, timeout: float | None) -> Item | None:
        """The next item (None: the watch ends); TimeoutError when `timeout` seconds pass without one."""
        if not self.items:
            loop = asyncio.get_running_loop()
            waiter = self.waiter = loop.create_future()
            expiry = loop.call_later(timeout, _release, waiter) if timeout is not None else None
            try:
                await waiter
            finally:
                if expiry is not None:
                    expiry.cancel()
                if self.waiter is waiter:
                    self.waiter = None
            if not self.items:
                raise TimeoutError
        return self.items.popleft()

    def _translate(self, ev: CacheEvent) -> Item | None:
        """Selector-aware event type, as the cacher does: an object leaving the selection is DELETED for this watcher,
        one entering it is ADDED."""
        if self.predicate is None:
            return ev.type, ev.obj, ev
        now = self.predicate(ev.obj)
        if ev.type == "MODIFIED":
            before = ev.prev is not None and self.predicate(ev.prev)
            if now and before:
                return ev.type, ev.obj, ev
            if now:
                return "ADDED", ev.obj, None
            if before:
                return "DELETED", ev.obj, None
            return None
        return (ev.type, ev.obj, ev) if now else None

    def terminate(self) -> None:
        if self.closed:
            return
        self.closed = True
        # Drop what is queued; the client resumes from the last revision it saw.
        self.items.clear()
        self._push(None)


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


# The watcher served by the current task: an async generator runs in its consumer's task and context, so the
# response that streams a watch can ask whether more events are ready (`events_ready`) and send them in one write.
_serving: contextvars.ContextVar[Watcher | None] = contextvars.ContextVar("watcher", default=None)


def events_ready() -> int:
    """How many events the watch this task streams can take without waiting (0: the next one must be awaited)."""
    watcher = _serving.get()
    if watcher is None or watcher.closed:
        return 0
    return watcher.backlog + len(watcher.items)


def added(entry: Encoded, revision: int) -> Item:
    """A synthetic ADDED event for a cached object (a watch's initial state), framed from the object's bytes."""
    return "ADDED", entry.obj, CacheEvent("ADDED", entry.obj, None, revision, entry)


INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def initial_events_end(revision: int) -> Obj:
    """The metadata of the BOOKMARK that ends a watch-list's initial events (metav1.InitialEventsAnnotationKey)."""
    return {"metadata": {"resourceVersion": str(revision), "annotations": {INITIAL_EVENTS_END: "true"}}}


class WatchCache:
    """The cache for one resource type (one storage prefix)."""

    def __init__(self, prefix: str, *, capacity: int = 10000, watcher_capacity: int = 10000) -> None:
        self.prefix = prefix
        self.capacity = capacity
        self.watcher_capacity = watcher_capacity
        self.objects: dict[str, Obj] = {}
        self._encoded: dict[str, Encoded] = {}  # the bytes of objects (checked by identity against `objects`)
        self.revision = 0
        self.oldest = 0  # the buffer can replay every event with revision > oldest
        self.buffer: collections.deque[CacheEvent] = collections.deque(maxlen=capacity)
        self.watchers: set[Watcher] = set()
        self.ready = asyncio.Event()
        self.revision_changed = asyncio.Condition()
        self._touched: set[str] = set()  # keys that events changed before the cache was first filled

    def reset(self, objects: dict[str, Obj], revision: int) -> None:
        """Start over from a full list at `revision`; watchers are cut off and resume or relist."""
        for w in list(self.watchers):
            w.terminate()
        self.watchers.clear()
        self.objects = objects
        self._encoded = {}
        self.revision = revision
        self.oldest = revision
        self.buffer.clear()
        self._touched.clear()
        self.ready.set()

    def fill(self, objects: dict[str, Obj], revision: int) -> None:
        """The first state of a cache that has been receiving events since before `revision`: the listed objects,
        except those that events since have changed or deleted (their state is already here)."""
        merged = {k: v for k, v in objects.items() if k not in self._touched}
        merged.update(self.objects)
        self.objects = merged
        self._touched.clear()
        self.oldest = revision
        self.revision = max(self.revision, revision)
        self.ready.set()

    def advance(self, revision: int) -> None:
        """The shared storage watch has delivered everything up to `revision`."""
        if revision > self.revision:
            self.revision = revision

    def apply(self, event_type: str, key: str, obj: Obj, revision: int) -> None:
        if not self.ready.is_set():
            self._touched.add(key)
        prev = self.objects.get(key)
        encoded = Encoded(obj)
        if event_type == "DELETED":
            self.objects.pop(key, None)
            self._encoded.pop(key, None)
        else:
            self.objects[key] = obj
            self._encoded[key] = encoded
            if prev is None:
                event_type = "ADDED"
        ev = CacheEvent(event_type, obj, prev, revision, encoded)
        if len(self.buffer) == self.buffer.maxlen:
            self.oldest = self.buffer[0].revision
        self.buffer.append(ev)
        self.revision = revision
        for w in list(self.watchers):
            w.offer(ev)
            if w.closed:
                self.watchers.discard(w)

    async def wait_ready(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            raise errors.unavailable("the watch cache is not ready; storage may be unavailable") from None

    async def wait_fresh(self, revision: int, timeout: float) -> bool:
        """Wait until the cache has seen everything up to `revision` (for consistent reads from the cache)."""
        if self.revision >= revision:
            return True
        try:
            async with asyncio.timeout(timeout), self.revision_changed:
                await self.revision_changed.wait_for(lambda: self.revision >= revision)
        except TimeoutError:
            return False
        return True

    def list_objects(
        self, predicate: Filter | None = None, namespace_prefix: str | None = None
    ) -> tuple[list[Obj], int]:
        entries, revision = self.list_encoded(predicate, namespace_prefix)
        return [e.obj for e in entries], revision

    def list_encoded(
        self, predicate: Filter | None = None, namespace_prefix: str | None = None
    ) -> tuple[list[Encoded], int]:
        """The selected objects in key order with their bytes (shared, not copied: callers must not modify them),
        at `revision`."""
        objects, encoded = self.objects, self._encoded
        keys = sorted(objects)
        if namespace_prefix:
            keys = [k for k in keys if k.startswith(namespace_prefix)]
        entries: list[Encoded] = []
        for k in keys:
            obj = objects[k]
            if predicate is not None and not predicate(obj):
                continue
            entry = encoded.get(k)
            if entry is None or entry.obj is not obj:  # filled by a relist, or not yet listed
                entry = encoded[k] = Encoded(obj)
            entries.append(entry)
        return entries, self.revision

    def get(self, key: str) -> Obj | None:
        return self.objects.get(key)

    async def watch(
        self,
        from_revision: int | None,
        predicate: Filter | None,
        *,
        timeout: float | None = None,
        bookmark_interval: float | None = None,
        initial_events: bool | None = None,
    ) -> AsyncGenerator[Item, None]:
        """Yield (type, object, cache event or None). `from_revision` None or 0: synthetic ADDED for every current
        object, then live events. Ends after `timeout` seconds; with `bookmark_interval`, a BOOKMARK carrying the
        cache's revision is sent whenever that long passes without an event.

        `initial_events` is a watch-list's sendInitialEvents: True sends the state not older than `from_revision`
        as ADDED events, then a BOOKMARK annotated `k8s.io/initial-events-end`; False starts at `from_revision`
        (or now) with no initial state."""
        await self.wait_ready(5.0)
        pred = predicate
        watcher = Watcher(pred, 0, self.watcher_capacity)
        initial: list[Item] = []
        if initial_events is True:
            if from_revision and not await self.wait_fresh(from_revision, 3.0):
                raise errors.too_large_resource_version(from_revision, self.revision)
            entries, rev = self.list_encoded(pred)
            initial = [added(e, rev) for e in entries]
            initial.append(("BOOKMARK", initial_events_end(rev), None))
            watcher.from_revision = rev
        elif initial_events is False and not from_revision:
            watcher.from_revision = self.revision
        elif not from_revision:
            entries, rev = self.list_encoded(pred)
            initial = [added(e, rev) for e in entries]
            watcher.from_revision = rev
        else:
            if from_revision < self.oldest:
                raise errors.gone(f"too old resource version: {from_revision} ({self.oldest})")
            watcher.from_revision = from_revision
            for ev in self.buffer:
                if ev.revision > from_revision:
                    item = watcher._translate(ev)
                    if item is not None:
                        initial.append(item)
            if self.buffer:
                watcher.from_revision = max(from_revision, self.buffer[-1].revision)
        self.watchers.add(watcher)
        _serving.set(watcher)
        try:
            watcher.backlog = len(initial)
            for item in initial:
                watcher.backlog -= 1
                yield item
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout if timeout else None
            while True:
                wait = bookmark_interval
                if deadline is not None:
                    left = deadline - loop.time()
                    if left <= 0:
                        return
                    wait = min(wait, left) if wait else left
                try:
                    got = await watcher.next(wait)
                except TimeoutError:
                    if bookmark_interval and (deadline is None or loop.time() < deadline):
                        yield "BOOKMARK", {"metadata": {"resourceVersion": str(self.revision)}}, None
                    continue
                if got is None:
                    return
                yield got
        finally:
            watcher.closed = True
            watcher.backlog = 0
            self.watchers.discard(watcher)
