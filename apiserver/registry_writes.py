"""The generic store's update and delete machinery (apiserver/registry.py): read-modify-write with
compare-and-swap (with admission and allocation on the checked path), the server-owned fields of an update, and
deletion with preconditions, grace periods and finalizers."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from apimachinery import errors
from apimachinery.defaults import apply_defaults
from apimachinery.errors import StatusError
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apiserver import metrics
from apiserver.admission import Attributes, Chain
from apiserver.fieldmanager import FieldManager
from apiserver.objectmeta import later, meta, name_of, now, spec_changed
from apiserver.registry_types import Abort, DeleteOptions, Obj, storage_error
from apiserver.storage import fresh
from apiserver.storage.interface import ErrorCode, Storage, StorageError
from apiserver.strategy import Strategy
from apiserver.watchcache import WatchCache


def replacing(obj: Obj) -> Callable[[Obj], Obj]:
    """The transform of a PUT, whose `obj` replaces the object (a resourceVersion in it is a precondition): a copy
    of `obj` for each attempt of the compare-and-swap loop. An attempt changes the object it is given (server-owned
    metadata, defaults, managed fields), and after a lost race the next attempt must start from what the client
    sent, its precondition included."""
    return lambda _current: fresh(obj)


class StoreWrites:
    """Update and delete for `registry.Store`, which provides the keys, validation and create."""

    info: ResourceInfo
    storage: Storage
    strategy: Strategy
    admission: Chain
    cache: WatchCache

    if TYPE_CHECKING:

        def key(self, namespace: str | None, name: str) -> str: ...

        def field_manager(self, subresource: str | None = None) -> FieldManager: ...

        def _validate(self, obj: Obj, old: Obj | None) -> None: ...

        # registry.Store.create, which an update that finds nothing may call instead
        create: Callable[..., Awaitable[Obj]]

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
    ) -> Attributes | None:
        """Admission attributes for a client's write, or None for the server's own writes (no user, or the
        subresource "*") and when no plugin wants to see this one."""
        sub = subresource or ""
        if user is None or sub == "*" or not self.admission.handles(operation, self.info, sub, user):
            return None
        return Attributes(operation, self.info, sub, namespace or "", name, obj, old, user, dry_run)

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
        resourceVersion in it is a precondition. It is called once per attempt and must return a new object each
        time (or its argument), as the attempt changes it: a PUT's is `replacing(obj)`. `manager` is recorded in
        the managed fields as the one who made the change (None: the transform has done that, as server-side apply
        does). Returns (stored object, created).

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
            if subresource != "*":
                # _prepare_update may share parts of `current` with the result (status kept from it), which the
                # caller's dict must not see; the server's own writes ("*": binding) take nothing from it.
                current = fresh(current)
            wanted = transform(fresh(current))
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
                # The watch cache's state first (no read when it is current), as kube-apiserver does.
                kv = await self.storage.guaranteed_update(key, try_update, cached=self.cache.get(key))
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
        for attempt in range(10):
            cached = self.cache.get(key) if attempt == 0 else None
            try:
                # The first try decides on the watch cache's state (a fresh copy: admission gets it as the old
                # object) when it has one; the swap fails if that was stale, and the next try reads storage.
                current = fresh(cached) if cached is not None else (await self.storage.get(key)).obj
            except StorageError as exc:
                if exc.code is ErrorCode.NOT_FOUND and create_if_missing is not None:
                    created = await self.create(
                        namespace, create_if_missing(), dry_run=dry_run, manager=manager, user=user
                    )
                    return created, True
                raise storage_error(exc, self.info, name) from None
            try:
                try:
                    new = self._prepare_update(
                        fresh(current),
                        transform(fresh(current)),
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
            except StatusError:
                if cached is not None:
                    continue  # refused on the cache's copy, which may lag: decide again on the stored object
                raise
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
                kv = await self.storage.guaranteed_update(key, swap, cached=current)
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
            merged = fresh(old)
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
