"""The CRD controller of the apiserver: what kube-apiserver's naming, establishing and finalizer controllers do.

It watches the CustomResourceDefinitions in the apiserver's own watch cache and, for each one, level-based:

* gives it its status (accepted names, NamesAccepted, Established, storedVersions) when that changed;
* serves its custom resources once its names are accepted (the resource table, stores and watch cache; discovery
  and OpenAPI follow the table), and stops serving them when it is gone;
* when it is being deleted, deletes its objects, then removes its cleanup finalizer, which lets it go.

The first pass over the CRDs that exist at start-up completes before the apiserver reports ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from apimachinery import errors
from apimachinery.backoff import Backoff
from apimachinery.errors import StatusError
from apiserver.crd.info import infos_from_crd
from apiserver.crd.lifecycle import CLEANUP_FINALIZER, desired_status, established
from apiserver.registry_types import DeleteOptions, ListOptions

if TYPE_CHECKING:
    from apiserver.server import APIServer

log = logging.getLogger("apiserver.crd")

Obj = dict[str, Any]

GROUP = "apiextensions.k8s.io"
RESOURCE = "customresourcedefinitions"
RETRY_SECONDS = 1.0


class CRDController:
    def __init__(self, server: APIServer) -> None:
        self.server = server
        self.synced = asyncio.Event()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch(), name="crd-watch"),
            asyncio.create_task(self._work(), name="crd-worker"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def store(self) -> Any:
        return self.server.store_for(GROUP, RESOURCE)

    # ---- events only enqueue names -----------------------------------------------------------------------------

    def _enqueue(self, name: str) -> None:
        if name not in self._queued:
            self._queued.add(name)
            self._queue.put_nowait(name)

    def _enqueue_later(self, name: str) -> None:
        asyncio.get_running_loop().call_later(RETRY_SECONDS, self._enqueue, name)

    async def _watch(self) -> None:
        backoff = Backoff(initial=0.1, cap=5.0)
        while True:
            try:
                cache = self.store.cache
                await cache.wait_ready(30.0)
                if not self.synced.is_set():
                    # The cache may start from an older revision and replay up to now: wait until it has.
                    while not await cache.wait_fresh(await self.server.storage.current_revision(), 5.0):
                        pass
                    items, _ = cache.list_objects()
                    for crd in items:  # the first pass, before the apiserver is ready
                        await self._reconcile(crd["metadata"]["name"])
                    self.synced.set()
                async for _etype, obj, _ in cache.watch(cache.revision, None):
                    self._enqueue(obj["metadata"]["name"])
                    backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the CRD watch failed; starting again")
            await asyncio.sleep(backoff.next())

    async def _work(self) -> None:
        while True:
            name = await self._queue.get()
            self._queued.discard(name)
            try:
                await self._reconcile(name)
            except asyncio.CancelledError:
                raise
            except StatusError as err:
                if not errors.is_conflict(err):
                    log.warning("reconciling CRD failed", extra={"crd": name, "error": err.message})
                self._enqueue_later(name)
            except Exception:
                log.exception("reconciling CRD failed", extra={"crd": name})
                self._enqueue_later(name)

    # ---- reconcile ---------------------------------------------------------------------------------------------

    async def _reconcile(self, name: str) -> None:
        crd = self.store.cache.get(self.store.key(None, name))
        if crd is None:
            self.server.uninstall_custom(name)
            return
        if crd["metadata"].get("deletionTimestamp"):
            await self._finalize(crd)
            return
        group = (crd.get("spec") or {}).get("group")
        others = [
            other
            for other in self.store.cache.list_objects()[0]
            if other["metadata"]["name"] != name and (other.get("spec") or {}).get("group") == group
        ]
        status = desired_status(crd, others, self.server.builtin_names())
        # Served before it says Established, so that a client that waits for the condition finds its resources.
        if established({"status": status}):
            await self.server.install_custom(name, infos_from_crd(crd))
        else:
            self.server.uninstall_custom(name)
        if status != crd.get("status"):

            def set_status(current: Obj) -> Obj:
                current["status"] = status
                return current

            await self.store.update(None, name, set_status, subresource="status")

    async def _finalize(self, crd: Obj) -> None:
        """Delete the objects of a CRD being deleted; when none is left, remove its cleanup finalizer."""
        name = crd["metadata"]["name"]
        if CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or ()):
            return
        if established(crd) and not self.server.custom_stores_of(name):
            # Being deleted when this apiserver started: serve it again, to find and delete its objects.
            await self.server.install_custom(name, infos_from_crd(crd))
        stores = self.server.custom_stores_of(name)
        remaining = 0
        if stores:
            store = stores[0]
            items, *_ = await store.list(None, ListOptions())
            for item in items:
                md = item["metadata"]
                with contextlib.suppress(StatusError):  # already gone, or held by its own finalizers
                    _, gone = await store.delete(md.get("namespace"), md["name"], DeleteOptions())
                    remaining += not gone
        if remaining:
            self._enqueue_later(name)
            return
        self.server.uninstall_custom(name)

        def release(current: Obj) -> Obj:
            md = current["metadata"]
            md["finalizers"] = [f for f in md.get("finalizers") or [] if f != CLEANUP_FINALIZER]
            if not md["finalizers"]:
                del md["finalizers"]
            return current

        await self.store.update(None, name, release)
