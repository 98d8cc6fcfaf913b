"""The garbage collector: deletes objects whose owners are gone, and carries out the three propagation policies.

The graph is the ownerReferences of every object in every watched resource (one informer each, indexed by owner
uid and by own uid). Queue items are objects, keyed "<group>/<resource>:<namespace/name>". For each item:

* Owner side. Being deleted with the `orphan` finalizer: remove our uid from every dependent's ownerReferences, then
  the finalizer. With the `foregroundDeletion` finalizer: the dependents that block it (blockOwnerDeletion) are
  deleted first (they are enqueued; their owner is "waiting"); when none is left, remove the finalizer.
* Dependent side. Each owner is solid (exists), dangling (absent, or its uid differs: checked with a live GET when
  the cache does not know it, because the cache may simply be behind) or waiting (being deleted in the foreground).
  Any solid owner keeps the object, minus references to dangling or waiting owners. No solid owner: delete it
  (Foreground when an owner is waiting and it has dependents of its own, so the wait reaches down the tree;
  otherwise as its own finalizers say, Background by default), with a uid precondition.

This is Kubernetes' garbage collector (pkg/controller/garbagecollector) without its metadata-only informers and
with a simpler graph: the informer indexes are the graph.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from apimachinery.client import retry_on_conflict
from apimachinery.errors import StatusError, ignore_not_found, is_conflict, is_not_found
from apimachinery.informer import Informer
from apimachinery.resources import RESOURCES, ResourceInfo, by_kind
from controller_manager.base import Context, Controller
from controller_manager.podutil import Obj, key_of

log = logging.getLogger(__name__)

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


def _refs(obj: Obj) -> list[Obj]:
    return (obj.get("metadata") or {}).get("ownerReferences") or []


def _owner_uids(obj: Obj) -> list[str]:
    return [r["uid"] for r in _refs(obj) if r.get("uid")]


def _own_uid(obj: Obj) -> list[str]:
    uid = (obj.get("metadata") or {}).get("uid")
    return [uid] if uid else []


def _finalizers(obj: Obj) -> list[str]:
    return (obj.get("metadata") or {}).get("finalizers") or []


def _deleting(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def item_key(res: ResourceInfo, obj_key: str) -> str:
    return f"{res.group}/{res.resource}:{obj_key}"


def default_resources(names: tuple[str, ...] | None) -> list[ResourceInfo]:
    """Every listable, watchable resource (events excepted, unless named: they never own or are owned)."""
    out = []
    for r in RESOURCES:
        if not ("list" in r.verbs and "watch" in r.verbs):
            continue
        if names is None and r.resource == "events":
            continue
        if names is not None and r.qualified not in names and r.resource not in names:
            continue
        out.append(r)
    return out


class GarbageCollector(Controller):
    name = "garbage-collector"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.informers: dict[tuple[str, str], tuple[ResourceInfo, Informer]] = {}
        for res in default_resources(ctx.options.gc_resources):
            inf = ctx.factory.informer(res)
            inf.add_indexer("owner-uid", _owner_uids)
            inf.add_indexer("uid", _own_uid)
            inf.add_handler(*self._handlers(res))
            self.informers[(res.group, res.resource)] = (res, inf)

    # -- handlers -------------------------------------------------------------------------------------------

    def _handlers(self, res: ResourceInfo) -> tuple[Any, Any, Any]:
        def on_add(obj: Obj) -> None:
            if _refs(obj) or _deleting(obj):
                self.enqueue(item_key(res, key_of(obj)))

        def on_update(old: Obj, new: Obj) -> None:
            om, nm = old.get("metadata") or {}, new.get("metadata") or {}
            if (
                om.get("ownerReferences") != nm.get("ownerReferences")
                or om.get("deletionTimestamp") != nm.get("deletionTimestamp")
                or om.get("finalizers") != nm.get("finalizers")
            ):
                self.enqueue(item_key(res, key_of(new)))
                if _deleting(new):
                    self._enqueue_dependents(new)
                if om.get("ownerReferences") != nm.get("ownerReferences"):
                    self._enqueue_waiting_owners(old)

        def on_delete(obj: Obj) -> None:
            self._enqueue_dependents(obj)
            self._enqueue_waiting_owners(obj)

        return on_add, on_update, on_delete

    def _dependents(self, uid: str) -> list[tuple[ResourceInfo, Obj]]:
        return [
            (res, obj) for res, inf in self.informers.values() for obj in inf.store.by_index("owner-uid", uid)
        ]

    def _find_uid(self, uid: str) -> tuple[ResourceInfo, Obj] | None:
        for res, inf in self.informers.values():
            found = inf.store.by_index("uid", uid)
            if found:
                return res, found[0]
        return None

    def _enqueue_waiting_owners(self, dependent: Obj) -> None:
        """A dependent went away (or dropped a reference): owners deleting in the foreground may be free now."""
        for uid in _owner_uids(dependent):
            found = self._find_uid(uid)
            if found is not None and _deleting(found[1]):
                self.enqueue(item_key(found[0], key_of(found[1])))

    def _enqueue_dependents(self, owner: Obj) -> None:
        for res, dep in self._dependents(owner["metadata"].get("uid", "")):
            self.enqueue(item_key(res, key_of(dep)))

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        gr, _, obj_key = key.partition(":")
        group, _, resource = gr.partition("/")
        entry = self.informers.get((group, resource))
        if entry is None:
            return None
        res, inf = entry
        obj = inf.store.get(obj_key)
        if obj is None:
            return None
        if _deleting(obj):
            if ORPHAN in _finalizers(obj):
                await self._orphan_dependents(obj)
                await self._remove_finalizer(res, obj, ORPHAN)
                return None
            if FOREGROUND in _finalizers(obj):
                await self._process_foreground(res, obj)
            return None  # being deleted already: nothing to decide as a dependent
        if _refs(obj):
            await self._attempt_to_delete(res, obj)
        return None

    async def _process_foreground(self, res: ResourceInfo, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        dependents = self._dependents(uid)
        blocking = [
            (r, d)
            for r, d in dependents
            if any(ref.get("uid") == uid and ref.get("blockOwnerDeletion") for ref in _refs(d))
        ]
        if not blocking:
            await self._remove_finalizer(res, owner, FOREGROUND)
            return
        for r, dep in dependents:
            if not _deleting(dep):
                self.enqueue(item_key(r, key_of(dep)))

    async def _owner_state(self, ref: Obj, namespace: str | None) -> str:
        """'solid', 'dangling' or 'waiting' (being deleted in the foreground) for one ownerReference."""
        uid = ref.get("uid")
        found = self._find_uid(uid) if uid else None
        if found is not None:
            return _state(found[1])
        info = by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if info is None:
            return "solid"  # a kind we cannot look up: never delete on a guess
        try:
            live = await self.client.get(info, ref["name"], namespace if info.namespaced else None)
        except StatusError as err:
            if is_not_found(err):
                return "dangling"
            raise
        if live["metadata"].get("uid") != uid:
            return "dangling"
        return _state(live)

    async def _attempt_to_delete(self, res: ResourceInfo, obj: Obj) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace")
        solid, gone = [], []
        waiting = False
        for ref in _refs(obj):
            state = await self._owner_state(ref, ns)
            if state == "solid":
                solid.append(ref)
            else:
                gone.append(ref["uid"])
                waiting = waiting or state == "waiting"
        if solid:
            if gone:
                await self._remove_owner_refs(res, obj, set(gone))
            return
        if waiting and self._dependents(meta["uid"]):
            policy = "Foreground"
        elif ORPHAN in _finalizers(obj):
            policy = "Orphan"
        elif FOREGROUND in _finalizers(obj):
            policy = "Foreground"
        else:
            policy = "Background"
        log.info(
            "deleting object whose owners are gone",
            extra={"object": item_key(res, key_of(obj)), "policy": policy},
        )
        try:
            await self.client.delete(
                res, meta["name"], ns, propagation_policy=policy, preconditions={"uid": meta["uid"]}
            )
        except StatusError as err:
            if not (is_not_found(err) or is_conflict(err)):
                raise
            # Gone already, or a different object now has the name (uid precondition): nothing to do.

    async def _orphan_dependents(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for res, dep in self._dependents(uid):
            await self._remove_owner_refs(res, dep, {uid})

    async def _remove_owner_refs(self, res: ResourceInfo, obj: Obj, uids: set[str]) -> None:
        meta = obj["metadata"]

        async def attempt() -> None:
            current = await self.client.get(res, meta["name"], meta.get("namespace"))
            if current["metadata"].get("uid") != meta["uid"]:
                return
            refs = [r for r in _refs(current) if r.get("uid") not in uids]
            if refs == _refs(current):
                return
            body = {
                "metadata": {
                    "ownerReferences": refs or None,
                    "resourceVersion": current["metadata"]["resourceVersion"],
                }
            }
            await self.client.patch(res, meta["name"], body, meta.get("namespace"))

        with ignore_not_found():
            await retry_on_conflict(attempt)

    async def _remove_finalizer(self, res: ResourceInfo, obj: Obj, finalizer: str) -> None:
        meta = obj["metadata"]

        async def attempt() -> None:
            current = await self.client.get(res, meta["name"], meta.get("namespace"))
            if current["metadata"].get("uid") != meta["uid"] or finalizer not in _finalizers(current):
                return
            body = copy.deepcopy(current)
            body["metadata"]["finalizers"] = [f for f in _finalizers(current) if f != finalizer]
            await self.client.update(res, body, meta.get("namespace"))

        with ignore_not_found():
            await retry_on_conflict(attempt)


def _state(owner: Obj) -> str:
    if _deleting(owner) and FOREGROUND in _finalizers(owner):
        return "waiting"
    return "solid"
