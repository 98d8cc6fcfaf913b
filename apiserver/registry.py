"""The generic REST store: create, get, list, update, patch, delete and watch for one resource type, over storage.

This is the part of kube-apiserver's `genericregistry.Store` that kubelite needs. Resource-specific behaviour
(status handling, graceful pod deletion, namespace finalization, service allocation) is in `strategy.py`; this
module keeps the shared rules in one place:

* The server owns uid, creationTimestamp, generation, resourceVersion and deletionTimestamp.
* Optimistic concurrency: a write that names a resourceVersion is a precondition (409 Conflict when stale).
* An object with finalizers is not deleted: it gets a deletionTimestamp and goes when its last finalizer is removed.
* Storage errors become Kubernetes Status errors here, once.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from apimachinery import errors, fields, labels
from apimachinery.defaults import apply_defaults
from apimachinery.errors import StatusError
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apimachinery.validation import validate
from apiserver import admission, metrics
from apiserver.fieldmanager import FieldManager
from apiserver.objectmeta import generate_name, later, meta, name_of, new_uid, now, spec_changed
from apiserver.storable import check_continue, check_storable, parse_rv
from apiserver.storage.interface import ErrorCode, Storage, StorageError
from apiserver.strategy import Strategy
from apiserver.watchcache import CacheEvent, WatchCache

log = logging.getLogger("apiserver.registry")


Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]


@dataclass
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str | None = None
    resource_version: str | None = None
    resource_version_match: str | None = None


@dataclass
class DeleteOptions:
    propagation_policy: str | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False
    orphan_dependents: bool | None = None  # as the client sent it (None: not sent)


def storage_error(exc: StorageError, info: ResourceInfo, name: str) -> StatusError:
    """Translate a storage failure once, at the boundary."""
    if exc.code is ErrorCode.NOT_FOUND:
        return errors.not_found(info.resource, name, info.group)
    if exc.code is ErrorCode.EXISTS:
        return errors.already_exists(info.resource, name, info.group)
    if exc.code is ErrorCode.CONFLICT:
        return errors.conflict(info.resource, name, info.group)
    if exc.code is ErrorCode.COMPACTED:
        return errors.gone(
            f"The provided continue parameter is too old to display a consistent list result. "
            f"You can start a new list without the continue parameter. ({exc})"
        )
    if exc.code is ErrorCode.UNAVAILABLE:
        return errors.unavailable(f"storage is unavailable: {exc}")
    if exc.code is ErrorCode.CORRUPT:
        return errors.internal(f"{exc}")
    if exc.code is ErrorCode.TOO_LARGE:
        return errors.too_large(f"Request entity too large: {exc}")
    if exc.code is ErrorCode.INVALID:
        # A read at a revision the store has not reached yet: Kubernetes answers 504, which clients retry.
        return errors.timeout(f"Too large resource version: {exc}", retry_after=1)
    return errors.internal(str(exc))


class Abort(Exception):
    """Raised inside a guaranteed_update callback to stop without writing; carries the Status to answer."""

    def __init__(self, error: StatusError) -> None:
        self.error = error


class Store:
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

    def _attributes(
        self,
        operation: str,
        user: UserInfo | None,
        namespace: str | None,
        name: str,
        obj: Obj | None,
        old: Obj | None,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> admission.Attributes | None:
        """Admission attributes for a client's write, or None for the server's own writes (no user, or the
        subresource "*") and when no plugin wants to see this one."""
        sub = subresource or ""
        if user is None or sub == "*" or not self.admission.handles(operation, self.info, sub, user):
            return None
        return admission.Attributes(operation, self.info, sub, namespace or "", name, obj, old, user, dry_run)

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
                items, revision = self.cache.list_objects(pred, self.list_prefix(namespace))
                return items, str(revision), None, None
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

    async def update(
        self,
        namespace: str | None,
        name: str,
        transform: Callable[[Obj], Obj],
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        create_if_missing: Callable[[], Obj] | None = None,
        manager: str | None = None,
        user: UserInfo | None = None,
    ) -> tuple[Obj, bool]:
        """Read-modify-write with compare-and-swap. `transform(current)` returns the object the client wants; a
        resourceVersion in it is a precondition. `manager` is recorded in the managed fields as the one who made
        the change (None: the transform has done that, as server-side apply does). Returns (stored object,
        created).

        `subresource` picks the write rules ("status": only status changes; "scale"; "*": a write by the server
        itself (binding, finalize), past client validation and admission) and is the admission attributes'
        subresource. With `user` (a client's write) admission runs, on the update or, for an apply that
        creates, on the create."""
        admitted = self._attributes("UPDATE", user, namespace, name, None, None, subresource=subresource)
        allocating = self.strategy.allocates_on_update and subresource is None and not dry_run
        if admitted is not None or allocating:
            # The one read -> admit -> compare-and-swap path (admission may wait; a CAS callback must not).
            return await self._update_checked(
                namespace,
                name,
                transform,
                subresource=subresource,
                dry_run=dry_run,
                create_if_missing=create_if_missing,
                manager=manager,
                user=user if admitted is not None else None,
                allocating=allocating,
            )
        key = self.key(namespace, name)

        def try_update(current: Obj | None) -> Obj:
            if current is None:  # gone (or deleted while we tried): NotFound, or a create below
                raise Abort(errors.not_found(self.info.resource, name, self.info.group))
            current = copy.deepcopy(current)
            wanted = transform(copy.deepcopy(current))
            return self._prepare_update(current, wanted, subresource, manager)

        try:
            with metrics.storage_timer("update", self.info.resource):
                if dry_run:
                    try:
                        current: Obj | None = (await self.storage.get(key)).obj
                    except StorageError as exc:
                        if exc.code != ErrorCode.NOT_FOUND:
                            raise
                        current = None
                    updated = try_update(current)
                    assert current is not None  # try_update aborts on a missing object
                    # As kube-apiserver: a dry-run update answers the would-be object at the live
                    # resourceVersion (kubectl diff would otherwise show a removed resourceVersion line).
                    updated["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                    return updated, False
                kv = await self.storage.guaranteed_update(key, try_update)
        except Abort as abort:
            if create_if_missing is None or not errors.is_not_found(abort.error):
                raise abort.error from None
        except StorageError as exc:
            if create_if_missing is None or exc.code is not ErrorCode.NOT_FOUND:
                raise storage_error(exc, self.info, name) from None
        else:
            obj = kv.obj
            if self._should_delete(obj):
                obj = await self._delete_now(namespace, name, int(obj["metadata"]["resourceVersion"]), obj)
            return obj, False
        # Not there (or deleted while we tried), and this update may create: it does.
        return await self.create(
            namespace, create_if_missing(), dry_run=dry_run, manager=manager, user=user
        ), True

    async def _update_checked(
        self,
        namespace: str | None,
        name: str,
        transform: Callable[[Obj], Obj],
        *,
        subresource: str | None,
        dry_run: bool,
        create_if_missing: Callable[[], Obj] | None,
        manager: str | None,
        user: UserInfo | None,
        allocating: bool,
    ) -> tuple[Obj, bool]:
        """An update that admission plugins check, or whose strategy claims resources in storage (a Service that
        becomes a NodePort): read, decide, admit, claim what is new, then compare-and-swap on the revision that was
        read. Admission may wait (it reads namespaces), which a guaranteed_update callback must not. On a lost race
        the claims are released and the whole update is tried again; on success what the old object held and the
        new one does not is released."""
        key = self.key(namespace, name)
        for _ in range(10):
            try:
                current = (await self.storage.get(key)).obj
            except StorageError as exc:
                if exc.code is ErrorCode.NOT_FOUND and create_if_missing is not None:
                    created = await self.create(
                        namespace, create_if_missing(), dry_run=dry_run, manager=manager, user=user
                    )
                    return created, True
                raise storage_error(exc, self.info, name) from None
            try:
                new = self._prepare_update(
                    copy.deepcopy(current),
                    transform(copy.deepcopy(current)),
                    subresource,
                    manager,
                    validate=False,
                )
            except Abort as abort:
                raise abort.error from None
            attrs = self._attributes(
                "UPDATE", user, namespace, name, new, current, subresource=subresource, dry_run=dry_run
            )
            if attrs is not None:
                await self.admission.admit(attrs)
                new = attrs.obj or new
            if subresource != "*":
                self._validate(new, current)
            if attrs is not None:
                await self.admission.validate(attrs)
            if dry_run:
                # As kube-apiserver: a dry-run update answers the would-be object at the live resourceVersion.
                new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                return new, False
            if allocating:
                await self.strategy.admit_update(new, current)
            stored = await self._swap_checked(key, name, new, current, allocating=allocating)
            if stored is None:
                continue  # lost a race: read, decide and admit again
            if self._should_delete(stored):
                stored = await self._delete_now(
                    namespace, name, int(stored["metadata"]["resourceVersion"]), stored
                )
            return stored, False
        raise errors.conflict(self.info.resource, name, self.info.group)

    async def _swap_checked(
        self, key: str, name: str, new: Obj, current: Obj, *, allocating: bool
    ) -> Obj | None:
        """Write `new` only if the object is still at the revision `current` was read at: the stored object, or None
        when another write came first. What an allocating strategy claimed is committed or released."""
        read_revision = current["metadata"]["resourceVersion"]
        lost_race = errors.conflict(self.info.resource, name, self.info.group)

        def swap(live: Obj | None) -> Obj:
            if live is None or live["metadata"]["resourceVersion"] != read_revision:
                raise Abort(lost_race)
            return new

        try:
            with metrics.storage_timer("update", self.info.resource):
                kv = await self.storage.guaranteed_update(key, swap)
        except Abort as abort:
            if allocating:
                await self.strategy.abandon_update(new, current)
            if abort.error is lost_race:
                return None
            raise abort.error from None
        except StorageError as exc:
            if allocating:
                await self.strategy.abandon_update(new, current)
            raise storage_error(exc, self.info, name) from None
        if allocating:
            await self.strategy.commit_update(kv.obj, current)
        return kv.obj

    def _prepare_update(
        self,
        old: Obj,
        new: Obj,
        subresource: str | None,
        manager: str | None = None,
        *,
        validate: bool = True,
    ) -> Obj:
        new_md = meta(new)
        old_md = old["metadata"]
        precondition = new_md.get("resourceVersion")
        if precondition and str(precondition) != str(old_md.get("resourceVersion")):
            raise Abort(errors.conflict(self.info.resource, name_of(old), self.info.group))
        sent_uid = new_md.get("uid")
        if sent_uid and sent_uid != old_md.get("uid"):
            # A uid in the request is a precondition (the kubelet writes a pod's status this way): the object
            # under this name may be a newer one, e.g. a StatefulSet member recreated with the same name.
            raise Abort(
                errors.conflict(
                    self.info.resource,
                    name_of(old),
                    self.info.group,
                    f"Precondition failed: UID in precondition: {sent_uid}, UID in object meta: {old_md.get('uid')}",
                )
            )
        if new_md.get("name") and new_md["name"] != old_md.get("name"):
            raise Abort(
                errors.bad_request(
                    f"the name of the object ({new_md['name']}) does not match the name on the URL ({old_md.get('name')})"
                )
            )
        new.setdefault("apiVersion", old.get("apiVersion"))
        new.setdefault("kind", old.get("kind"))
        if subresource in ("status", "approval"):
            merged = copy.deepcopy(old)
            merged["status"] = new.get("status", {})
            if manager is None and "managedFields" in new_md:  # set by a server-side apply to /status
                merged["metadata"]["managedFields"] = new_md["managedFields"]
            new = merged
            self.strategy.prepare_for_subresource(new, old, subresource)
        elif subresource is None and self.strategy.status_subresource:
            # The main resource ignores status changes, as in Kubernetes; status goes through /status.
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        md = meta(new)
        for owned in (
            "uid",
            "creationTimestamp",
            "namespace",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ):
            if owned in old_md:
                md[owned] = old_md[owned]
            else:
                md.pop(owned, None)
        md["name"] = old_md["name"]
        md.pop("resourceVersion", None)
        if subresource is None:
            self.strategy.prepare_for_update(new, old)
            apply_defaults(new)
        generation = int(old_md.get("generation") or 0)
        if subresource == "*":
            md["generation"] = generation or 1
        elif generation or "spec" in new:
            md["generation"] = generation + 1 if spec_changed(old, new) else max(generation, 1)
        if subresource != "*":  # "*": a write by the server itself (binding), not checked like a client's
            if manager is not None:
                self.field_manager(subresource).update(old, new, manager)
            if validate:
                self._validate_update(new, old)
        return new

    def _validate_update(self, new: Obj, old: Obj) -> None:
        try:
            self._validate(new, old)
        except StatusError as exc:
            raise Abort(exc) from None

    def _should_delete(self, obj: Obj) -> bool:
        md = obj.get("metadata") or {}
        return (
            bool(md.get("deletionTimestamp"))
            and not md.get("finalizers")
            and int(md.get("deletionGracePeriodSeconds") or 0) == 0
            and self.strategy.finalized(obj)
        )

    async def delete(
        self,
        namespace: str | None,
        name: str,
        opts: DeleteOptions,
        *,
        user: UserInfo | None = None,
        subresource: str | None = None,
    ) -> tuple[Obj, bool]:
        """Returns (object, deleted now). An object that must wait (finalizers, graceful pod deletion) is marked with a
        deletionTimestamp and returned with deleted=False. With `user` (a client's delete) admission runs first."""
        key = self.key(namespace, name)
        try:
            current = await self.storage.get(key)
        except StorageError as exc:
            raise storage_error(exc, self.info, name) from None
        obj = current.obj
        md = obj["metadata"]
        if user is not None:
            attrs = self._attributes(
                "DELETE", user, namespace, name, None, obj, subresource=subresource, dry_run=opts.dry_run
            )
            if attrs is not None:
                await self.admission.admit(attrs)
                await self.admission.validate(attrs)
        if opts.precondition_uid and opts.precondition_uid != md.get("uid"):
            raise errors.conflict(
                self.info.resource,
                name,
                self.info.group,
                f"Precondition failed: UID in precondition: {opts.precondition_uid}, UID in object meta: {md.get('uid')}",
            )
        if opts.precondition_rv and opts.precondition_rv != md.get("resourceVersion"):
            raise errors.conflict(
                self.info.resource,
                name,
                self.info.group,
                f"Precondition failed: ResourceVersion in precondition: {opts.precondition_rv}, "
                f"ResourceVersion in object meta: {md.get('resourceVersion')}",
            )
        if opts.dry_run:
            return obj, True
        finalizers = list(md.get("finalizers") or [])
        if opts.propagation_policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif opts.propagation_policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        grace = self.strategy.grace_period(obj, opts.grace_period_seconds)
        if not finalizers and grace == 0 and self.strategy.finalized(obj):
            return await self._delete_now(namespace, name, current.mod_revision, obj), True

        def mark(cur: Obj | None) -> Obj:
            if cur is None:
                raise Abort(errors.not_found(self.info.resource, name, self.info.group))
            cur = copy.deepcopy(cur)
            cmd = meta(cur)
            cmd.pop("resourceVersion", None)
            merged = list(cmd.get("finalizers") or [])
            merged += [f for f in finalizers if f not in merged]
            cmd["finalizers"] = merged
            if not cmd["finalizers"]:
                del cmd["finalizers"]
            existing = cmd.get("deletionGracePeriodSeconds")
            if not cmd.get("deletionTimestamp") or (existing is not None and grace < int(existing)):
                cmd["deletionTimestamp"] = now() if grace == 0 else later(grace)
                cmd["deletionGracePeriodSeconds"] = grace
            self.strategy.prepare_for_delete(cur)
            return cur

        try:
            kv = await self.storage.guaranteed_update(key, mark)
        except Abort as abort:
            raise abort.error from None
        except StorageError as exc:
            raise storage_error(exc, self.info, name) from None
        if self._should_delete(kv.obj):
            return await self._delete_now(namespace, name, kv.mod_revision, kv.obj), True
        return kv.obj, False

    async def _delete_now(self, namespace: str | None, name: str, revision: int, obj: Obj) -> Obj:
        try:
            with metrics.storage_timer("delete", self.info.resource):
                kv = await self.storage.delete(self.key(namespace, name), expected_revision=revision)
        except StorageError as exc:
            if exc.code is ErrorCode.CONFLICT:
                # Changed since we read it: decide again on the current state (a finalizer may have been added).
                return (await self.delete(namespace, name, DeleteOptions()))[0]
            raise storage_error(exc, self.info, name) from None
        await self.strategy.release(kv.obj)
        return kv.obj
