"""The generic REST store: create, get, list, update, patch, delete and watch for one resource type, over storage.

This is the part of kube-apiserver's `genericregistry.Store` that kubelite needs. Resource-specific behaviour
(status handling, graceful pod deletion, namespace finalization, service allocation) is in `strategy.py`; this
module keeps the shared rules in one place:

* The server owns uid, creationTimestamp, generation, resourceVersion and deletionTimestamp.
* Optimistic concurrency: a write that names a resourceVersion is a precondition (409 Conflict when stale).
* An object with finalizers is not deleted: it gets a deletionTimestamp and goes when its last finalizer is removed.
* Storage errors become Kubernetes Status errors here, once (`registry_types.storage_error`).

The read path (keys, selectors, get, list, watch) and create are here; update and delete are in
`registry_writes`, the option types in `registry_types`.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any

from apimachinery import errors, fields, labels
from apimachinery.defaults import apply_defaults
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apimachinery.validation import validate
from apiserver import admission, metrics
from apiserver.fieldmanager import FieldManager
from apiserver.objectmeta import generate_name, meta, name_of, new_uid, now
from apiserver.registry_types import ListOptions, Obj, Predicate, storage_error
from apiserver.registry_writes import StoreWrites
from apiserver.storable import check_continue, check_storable, parse_rv
from apiserver.storage.interface import ErrorCode, Storage, StorageError
from apiserver.strategy import Strategy
from apiserver.watchcache import CachedList, CacheEvent, WatchCache

log = logging.getLogger("apiserver.registry")


class Store(StoreWrites):
    def __init__(
        self,
        info: ResourceInfo,
        storage: Storage,
        cache: WatchCache,
        strategy: Strategy,
        prefix: str | None = None,
    ) -> None:
        self.info = info
        self.storage = storage
        self.cache = cache
        self.strategy = strategy
        self.prefix = prefix or f"/registry/{info.resource}/"
        # The admission chain (apiserver/plugins.py), set by the APIServer; it sees every client's write.
        self.admission: admission.Chain = admission.EMPTY

    # ---- keys and selectors -------------------------------------------------------------------------------------

    def key(self, namespace: str | None, name: str) -> str:
        if self.info.namespaced:
            return f"{self.prefix}{namespace}/{name}"
        return f"{self.prefix}{name}"

    def list_prefix(self, namespace: str | None) -> str:
        return f"{self.prefix}{namespace}/" if self.info.namespaced and namespace else self.prefix

    def predicate(self, namespace: str | None, opts: ListOptions) -> Predicate | None:
        try:
            lsel = labels.parse(opts.label_selector) if opts.label_selector else None
            fsel = fields.parse(opts.field_selector) if opts.field_selector else None
            if fsel is not None:
                fields.validate_for(fsel, self.info.kind)
        except ValueError as exc:
            raise errors.bad_request(f"unable to parse requirement: {exc}") from None
        ns = namespace if self.info.namespaced and namespace else None
        if lsel is None and fsel is None and ns is None:
            return None

        def match(obj: Obj) -> bool:
            md = obj.get("metadata") or {}
            if ns is not None and md.get("namespace") != ns:
                return False
            if lsel is not None and not lsel.matches(md.get("labels") or {}):
                return False
            return fsel is None or fsel.matches(obj)

        return match

    # ---- reads --------------------------------------------------------------------------------------------------

    async def get(self, namespace: str | None, name: str) -> Obj:
        try:
            with metrics.storage_timer("get", self.info.resource):
                return (await self.storage.get(self.key(namespace, name))).obj
        except StorageError as exc:
            raise storage_error(exc, self.info, name) from None

    async def list(
        self, namespace: str | None, opts: ListOptions
    ) -> tuple[builtins.list[Obj], str, str | None, int | None]:
        """Return (items, list resourceVersion, continue token, remainingItemCount)."""
        pred = self.predicate(namespace, opts)
        rv = opts.resource_version
        use_cache = (
            not opts.continue_token
            and (rv == "0" or not opts.limit)
            and opts.resource_version_match != "Exact"
        )
        if use_cache:
            await self.cache.wait_ready(3.0)
            wanted = 0
            if rv and rv != "0":
                wanted = parse_rv(rv)
            elif rv == "0":
                # "Any" revision may be stale, but one storage round trip lets the cache catch up first (up to a
                # second), so a client that just wrote something finds it in its informer's first list.
                with contextlib.suppress(StorageError):
                    await self.cache.wait_fresh(await self.storage.current_revision(), 1.0)
            else:
                # A consistent read served from the cache: wait until the cache has seen the storage's revision.
                try:
                    wanted = await self.storage.current_revision()
                except StorageError as exc:
                    raise storage_error(exc, self.info, "") from None
            if not wanted or await self.cache.wait_fresh(wanted, 3.0):
                entries, revision = self.cache.list_encoded(pred, self.list_prefix(namespace))
                return CachedList(entries), str(revision), None, None
            if rv:
                raise errors.too_large_resource_version(parse_rv(rv), self.cache.revision)
        return await self._list_from_storage(namespace, opts, pred)

    async def _list_from_storage(
        self, namespace: str | None, opts: ListOptions, pred: Predicate | None
    ) -> tuple[builtins.list[Obj], str, str | None, int | None]:
        revision = 0
        if opts.resource_version_match == "Exact" and opts.resource_version:
            revision = parse_rv(opts.resource_version)
        token = opts.continue_token
        if token:
            check_continue(token)
        items: builtins.list[Obj] = []
        remaining: int | None = None
        try:
            while True:
                with metrics.storage_timer("list", self.info.resource):
                    page = await self.storage.list(
                        self.list_prefix(namespace), limit=opts.limit, continue_token=token, revision=revision
                    )
                revision = page.revision
                items.extend(kv.obj for kv in page.items if pred is None or pred(kv.obj))
                token = page.continue_token
                remaining = page.remaining
                if not token or not opts.limit or len(items) >= opts.limit:
                    break
        except StorageError as exc:
            raise storage_error(exc, self.info, "") from None
        if pred is not None:
            remaining = None  # unknown once a selector filters pages (as in Kubernetes)
        return items, str(revision), token, remaining

    def watch(
        self,
        namespace: str | None,
        opts: ListOptions,
        *,
        timeout: float | None,
        bookmarks: bool,
        initial_events: bool | None = None,
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        pred = self.predicate(namespace, opts)
        rv = opts.resource_version
        from_revision = parse_rv(rv) if rv and rv != "0" else 0
        options: dict[str, Any] = {
            "timeout": timeout,
            "bookmark_interval": 30.0 if bookmarks else None,
            "initial_events": initial_events,
        }
        if initial_events and not rv:
            return self._watch_list_consistent(pred, options)
        return self.cache.watch(from_revision, pred, **options)

    async def _watch_list_consistent(
        self, pred: Predicate | None, options: dict[str, Any]
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        """A watch-list without a resourceVersion starts from a consistent read: the state at storage's current
        revision (the cache waits until it has seen it), as a list without one does."""
        try:
            revision = await self.storage.current_revision()
        except StorageError as exc:
            raise storage_error(exc, self.info, "") from None
        events = self.cache.watch(revision, pred, **options)
        try:
            async for item in events:
                yield item
        finally:
            await events.aclose()

    # ---- writes -------------------------------------------------------------------------------------------------

    def field_manager(self, subresource: str | None = None) -> FieldManager:
        """Field ownership of this resource's objects, for writes to the object or to `subresource`."""
        return FieldManager(
            self.info.kind,
            self.info.api_version,
            subresource or "",
            status_subresource=self.strategy.status_subresource,
        )

    async def create(
        self,
        namespace: str | None,
        obj: Obj,
        *,
        dry_run: bool = False,
        manager: str | None = None,
        subresource: str = "",
        user: UserInfo | None = None,
    ) -> Obj:
        """Store a new object. `manager` names who writes it, for its managed fields (None: the caller has set
        them, as server-side apply does). With `user` (a client's write), admission runs around validation."""
        md = meta(obj)
        generated = not md.get("name") and bool(md.get("generateName"))
        if generated:
            md["name"] = generate_name(str(md["generateName"]))
        if self.info.namespaced:
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        md["uid"] = new_uid()
        md["creationTimestamp"] = now()
        for server_field in (
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ):
            md.pop(server_field, None)
        if "spec" in obj or self.strategy.has_generation:
            md["generation"] = 1
        self.strategy.prepare_for_create(obj)
        apply_defaults(obj)
        if manager is not None:
            self.field_manager().update(None, obj, manager)
        attrs = self._attributes(
            "CREATE", user, namespace, name_of(obj), obj, None, subresource=subresource, dry_run=dry_run
        )
        if attrs is not None:
            await self.admission.admit(attrs)
            obj = attrs.obj or obj
            md = meta(obj)
        self._validate(obj, None)
        if attrs is not None:
            await self.admission.validate(attrs)
        await self.strategy.admit_create(obj, dry_run=dry_run)
        if dry_run:
            return obj
        for attempt in range(8):
            try:
                with metrics.storage_timer("create", self.info.resource):
                    kv = await self.storage.create(self.key(namespace, name_of(obj)), obj)
                return kv.obj
            except StorageError as exc:
                if exc.code is ErrorCode.EXISTS and generated and attempt < 7:
                    # A generated name that is taken: pick another, as Kubernetes' RetryGenerateName does.
                    md["name"] = generate_name(str(md["generateName"]))
                    continue
                await self.strategy.release(obj)
                raise storage_error(exc, self.info, name_of(obj)) from None
        raise AssertionError("unreachable")

    def _validate(self, obj: Obj, old: Obj | None) -> None:
        check_storable(obj)
        causes = validate(obj, old)
        causes += self.strategy.validate(obj, old)
        if causes:
            raise errors.invalid(self.info.kind, name_of(obj), causes, self.info.group)
