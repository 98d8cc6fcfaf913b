"""Informers: a local cache of one resource type kept current by list-then-watch, with event handlers.

    Store                  the cache: objects by key ("ns/name", or "name" when cluster-scoped), plus indexes
    Informer               list, then watch from the list's resourceVersion; relist on 410 or any error
    InformerFactory        one informer per (resource, namespace, selectors), started and synced together

Contract:
* NEVER mutate objects you get from the store or a handler. They are the cache's own dicts (no copy is made, for
  speed); mutating one corrupts the cache for every reader. `copy.deepcopy` first, then change the copy.
* Handlers are plain callables, run in the informer's task; they should only enqueue keys. An exception in a
  handler is logged and does not stop the informer.
* After a relist, handlers have seen add/update/delete calls that bring them to exactly the listed state: objects
  that vanished while the watch was down get `on_delete` with their last known state. `on_update` is called only
  when the resourceVersion changed.
* The first list asks for resourceVersion "0" (served from the apiserver's cache), relists ask for "at least the
  last resourceVersion seen", as client-go's reflector does; the watch then starts from the list's version.
* The watch asks for `timeoutSeconds` between 300 and 600 (like client-go); when the server ends a stream
  normally, the informer watches again from the last resourceVersion it saw, without a relist.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from apimachinery.backoff import Backoff
from apimachinery.client import Client
from apimachinery.errors import StatusError, is_gone, is_timeout
from apimachinery.resources import ResourceInfo
from apimachinery.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], Iterable[str]]


def key_of(obj: Obj) -> str:
    """The store key of an object: "namespace/name", or "name" for a cluster-scoped object."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def split_key(key: str) -> tuple[str | None, str]:
    """("namespace", "name") from "namespace/name"; (None, "name") from "name"."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


def namespace_index(obj: Obj) -> list[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return [ns] if ns else []


def _rv(obj: Obj) -> str | None:
    return (obj.get("metadata") or {}).get("resourceVersion")


class Store:
    """The informer's cache. Read-only for everybody but its informer (see the module docstring)."""

    def __init__(self) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {"namespace": namespace_index}
        self._indices: dict[str, dict[str, set[str]]] = {"namespace": {}}

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def get_by_name(self, name: str, namespace: str | None = None) -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> builtins.list[Obj]:
        return list(self._items.values())

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        """Index objects by `fn(obj)` (a list of strings); indexes existing objects too."""
        self._indexers[name] = fn
        index: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in fn(obj):
                index.setdefault(value, set()).add(key)
        self._indices[name] = index

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        keys = self._indices[name].get(value, ())
        return [self._items[k] for k in keys]

    def index_keys(self, name: str, value: str) -> builtins.list[str]:
        return list(self._indices[name].get(value, ()))

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    def _put(self, key: str, obj: Obj) -> Obj | None:
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name, fn in self._indexers.items():
            for value in fn(obj):
                self._indices[name].setdefault(value, set()).add(key)
        return old

    def _remove(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old


@dataclass
class _Handler:
    on_add: Callable[[Obj], Any] | None
    on_update: Callable[[Obj, Obj], Any] | None
    on_delete: Callable[[Obj], Any] | None


@dataclass(eq=False)
class Informer:
    """List-then-watch cache of `res` (optionally one namespace, label and field selectors)."""

    client: Client
    res: ResourceInfo
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    _: KW_ONLY
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=0.2, cap=5.0))
    watch_timeout: tuple[int, int] = (300, 600)  # timeoutSeconds of each watch: random in this range
    store: Store = field(default_factory=Store, init=False)
    resource_version: str | None = field(default=None, init=False)  # the last one seen: list, then events
    relists: int = field(default=0, init=False)  # how many lists after the first (for tests and metrics)
    watches: int = field(default=0, init=False)  # how many watch streams were opened
    _handlers: list[_Handler] = field(default_factory=list, init=False)
    _synced: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _rv_unavailable: bool = field(default=False, init=False)

    def add_handler(
        self,
        on_add: Callable[[Obj], Any] | None = None,
        on_update: Callable[[Obj, Obj], Any] | None = None,
        on_delete: Callable[[Obj], Any] | None = None,
    ) -> None:
        """Register handlers. Added after sync, `on_add` is first called for every object already cached."""
        handler = _Handler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if on_add is not None:
            for obj in self.store.list():
                self._call(on_add, obj)

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        self.store.add_indexer(name, fn)

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until the first list has been delivered; raise TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            await self._synced.wait()
        return True

    # -- the loop -------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled; after any failure, wait (backoff) and relist."""
        while True:
            try:
                await self._list_and_watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.backoff.next()
                level = logging.INFO if isinstance(exc, StatusError) and is_gone(exc) else logging.WARNING
                log.log(
                    level,
                    "list/watch failed, relisting",
                    extra={"resource": self.res.qualified, "error": str(exc), "retry_in": round(delay, 3)},
                )
                await asyncio.sleep(delay)

    def _list_resource_version(self) -> str:
        """client-go's choice: "0" (any cached state) first, then "at least as new as the last one we saw", and
        a consistent read ("") once the server said that version is unavailable."""
        if self._rv_unavailable:
            return ""
        return self.resource_version or "0"

    async def _list_and_watch(self) -> None:
        try:
            result = await self.client.list(
                self.res,
                self.namespace,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
                resource_version=self._list_resource_version() or None,
            )
        except StatusError as err:
            # 410: too old; 504: newer than the server has (e.g. a restored etcd). Either way, read current state.
            self._rv_unavailable = is_gone(err) or is_timeout(err)
            raise
        self._rv_unavailable = False
        log.debug(
            "listed",
            extra={
                "resource": self.res.qualified,
                "items": len(result["items"]),
                "resource_version": (result.get("metadata") or {}).get("resourceVersion"),
            },
        )
        if self._synced.is_set():
            self.relists += 1
        self._replace(result["items"])
        self.resource_version = (result.get("metadata") or {}).get("resourceVersion")
        self._synced.set()
        while True:
            started = time.monotonic()
            events = await self._watch_once()
            # A stream that lived a while or carried events was healthy: the next failure starts fresh.
            if events or time.monotonic() - started > 2.0:
                self.backoff.reset()

    async def _watch_once(self) -> int:
        """One watch stream from `resource_version` until the server ends it; the number of events seen."""
        n = 0
        log.debug(
            "watching", extra={"resource": self.res.qualified, "resource_version": self.resource_version}
        )
        self.watches += 1
        stream = self.client.watch(
            self.res,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            resource_version=self.resource_version,
            timeout_seconds=random.randint(*self.watch_timeout),
            allow_bookmarks=True,
        )
        try:
            async for etype, obj in stream:
                n += 1
                rv = _rv(obj)
                if etype == "BOOKMARK":
                    if rv:
                        self.resource_version = rv
                    continue
                self._apply(etype, obj)
                if rv:
                    self.resource_version = rv
        finally:
            await stream.aclose()
        return n

    # -- delivering changes ---------------------------------------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            # A broken handler must not stop the cache for every other handler.
            log.exception("informer event handler failed", extra={"resource": self.res.qualified})

    def _added_or_updated(self, key: str, obj: Obj) -> None:
        old = self.store._put(key, obj)
        for h in self._handlers:
            if old is None:
                if h.on_add:
                    self._call(h.on_add, obj)
            elif h.on_update:
                self._call(h.on_update, old, obj)

    def _deleted(self, key: str, obj: Obj) -> None:
        self.store._remove(key)
        for h in self._handlers:
            if h.on_delete:
                self._call(h.on_delete, obj)

    def _typed(self, obj: Obj) -> Obj:
        # Lists may omit kind/apiVersion on items (Kubernetes does); events and owner references need them.
        if "kind" not in obj:
            obj["kind"] = self.res.kind
        if "apiVersion" not in obj:
            obj["apiVersion"] = self.res.api_version
        return obj

    def _apply(self, etype: str, obj: Obj) -> None:
        obj = self._typed(obj)
        key = key_of(obj)
        if etype in ("ADDED", "MODIFIED"):
            self._added_or_updated(key, obj)
        elif etype == "DELETED":
            self._deleted(key, obj)
        else:
            log.warning("unknown watch event type", extra={"resource": self.res.qualified, "type": etype})

    def _replace(self, items: list[Obj]) -> None:
        """Make the store equal to `items`, telling handlers the difference."""
        fresh = {key_of(o): self._typed(o) for o in items}
        for key in [k for k in self.store.keys() if k not in fresh]:
            old = self.store.get(key)
            assert old is not None
            self._deleted(key, old)
        for key, obj in fresh.items():
            old = self.store.get(key)
            if old is not None and _rv(old) == _rv(obj) and _rv(obj) is not None:
                self.store._put(key, obj)
                continue
            self._added_or_updated(key, obj)


class InformerFactory:
    """Shares one informer per (resource, namespace, selectors) among the parts of a component."""

    def __init__(self, client: Client, namespace: str | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self._informers: dict[tuple[Any, ...], Informer] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._started = False

    def informer(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Informer:
        ns = namespace if namespace is not None else self.namespace
        key = (res.group, res.resource, ns, label_selector, field_selector)
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(self.client, res, ns, label_selector, field_selector)
            self._informers[key] = inf
            if self._started:  # late arrivals start at once
                self.start()
        return inf

    def start(self) -> None:
        """Start every informer that is not running yet, each in its own task."""
        self._started = True
        for inf in self._informers.values():
            if id(inf) not in self._tasks:
                self._tasks[id(inf)] = asyncio.create_task(inf.run(), name=f"informer-{inf.res.qualified}")

    async def wait_synced(self, timeout: float | None = None) -> bool:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(inf.wait_synced() for inf in self._informers.values()))
        return True

    def running(self) -> bool:
        """Started, and no informer's task has ended (an informer that died stops its component's work: its
        /healthz says so)."""
        return self._started and not any(t.done() for t in self._tasks.values())

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks.values())
        self._tasks.clear()
        self._started = False
