"""The namespace controller: empties a namespace that is being deleted, then lets it go.

`DELETE /api/v1/namespaces/x` marks the namespace Terminating (deletionTimestamp, phase) and the `kubernetes`
entry in `spec.finalizers` holds it. We delete every object of every namespaced resource in it, look again until
nothing is left (pods may take their grace period, other objects their finalizers), and then remove our finalizer
with `PUT namespaces/x/finalize`; the apiserver deletes the namespace once no finalizer is left.
"""

from __future__ import annotations

import copy
import logging

from apimachinery.errors import StatusError, ignore_not_found, is_method_not_supported, is_not_found
from apimachinery.resources import RESOURCES, ResourceInfo
from controller_manager.base import NAMESPACES, Context, Controller
from controller_manager.podutil import Obj, key_of

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
RECHECK_SECONDS = 2.0


def namespaced_resources() -> list[ResourceInfo]:
    return [r for r in RESOURCES if r.namespaced and "list" in r.verbs and "delete" in r.verbs]


class NamespaceController(Controller):
    name = "namespace"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.ns_informer = self.watch(NAMESPACES, self._on_ns, on_delete=None)

    def _on_ns(self, ns: Obj) -> None:
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            self.enqueue(key_of(ns))

    async def reconcile(self, key: str) -> float | None:
        ns = self.ns_informer.store.get(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return None
        touched = [res for res in namespaced_resources() if await self._delete_all(res, key)]
        # Most objects go at once; count what is still there (graceful pods, finalizers) before finalizing. Only
        # the kinds that had objects are listed again: nothing new can be created in a terminating namespace.
        remaining = sum([await self._count(res, key) for res in touched])
        if remaining:
            log.info("namespace not empty yet", extra={"namespace": key, "remaining": remaining})
            return RECHECK_SECONDS
        await self._finalize(key)
        return None

    async def _delete_all(self, res: ResourceInfo, namespace: str) -> int:
        """Delete every object of `res` in the namespace; return how many there were."""
        try:
            items = (await self.client.list_all(res, namespace))["items"]
        except StatusError as err:
            if is_not_found(err) or is_method_not_supported(err):
                return 0  # not served by this apiserver
            raise
        for obj in items:
            meta = obj.get("metadata") or {}
            if meta.get("deletionTimestamp"):
                continue
            with ignore_not_found():
                await self.client.delete(res, meta["name"], namespace, propagation_policy="Background")
        return len(items)

    async def _count(self, res: ResourceInfo, namespace: str) -> int:
        try:
            return len((await self.client.list(res, namespace))["items"])
        except StatusError as err:
            if is_not_found(err) or is_method_not_supported(err):
                return 0
            raise

    async def _finalize(self, name: str) -> None:
        try:
            ns = await self.client.get(NAMESPACES, name)
        except StatusError as err:
            if is_not_found(err):
                return
            raise
        body = copy.deepcopy(ns)
        body.setdefault("spec", {})["finalizers"] = [
            f for f in (ns.get("spec") or {}).get("finalizers") or [] if f != FINALIZER
        ]
        await self.client.update(NAMESPACES, body, subresource="finalize")
        log.info("namespace finalized", extra={"namespace": name})
