"""The EndpointSlice controller: for every Service with a selector, discovery.k8s.io/v1 EndpointSlices listing its
pods, beside the Endpoints object the endpoints controller keeps.

Informers on Services, Pods, Nodes (for zones) and the slices this controller manages (label
endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io) feed one queue of Service keys: a pod change
enqueues the Services that select its old or new labels; a change to a managed slice enqueues its Service (label
kubernetes.io/service-name), so a slice edited or deleted by hand is put back. `reconcile` computes the endpoints
from the caches and applies the plan of `endpointslice_util` (few writes: endpoints stay where they are). Services
without a selector, and ExternalName Services, are left alone, as upstream; a deleted Service's slices go.
"""

from __future__ import annotations

import logging

from apimachinery.errors import StatusError, is_not_found
from controller_manager import endpointslice_util as esu
from controller_manager.base import ENDPOINTSLICES, NODES, Context
from controller_manager.podutil import Obj, split_key
from controller_manager.serviceselection import ServicePodsController
from controller_manager.slicetracker import SliceTracker

log = logging.getLogger(__name__)

STALE_RETRY_SECONDS = 1.0


class EndpointSliceController(ServicePodsController):
    name = "endpointslice"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.max_per_slice = ctx.options.max_endpoints_per_slice
        self.tracker = SliceTracker()
        self.node_informer = ctx.factory.informer(NODES)
        self.slice_informer = self.watch(
            ENDPOINTSLICES, self._on_slice, label_selector=f"{esu.MANAGED_BY_LABEL}={esu.CONTROLLER_NAME}"
        )

    # -- handlers -------------------------------------------------------------------------------------------

    def _on_slice(self, slice_: Obj) -> None:
        md = slice_.get("metadata") or {}
        service = (md.get("labels") or {}).get(esu.SERVICE_NAME_LABEL)
        if service:
            self.enqueue(f"{md.get('namespace')}/{service}")

    # -- reconcile ------------------------------------------------------------------------------------------

    def _slices_of(self, ns: str, name: str) -> list[Obj]:
        return [
            s
            for s in self.slice_informer.store.by_index("namespace", ns)
            if ((s.get("metadata") or {}).get("labels") or {}).get(esu.SERVICE_NAME_LABEL) == name
        ]

    async def reconcile(self, key: str) -> float | None:
        ns, name = split_key(key)
        ns = ns or ""
        svc = self.svc_informer.store.get(key)
        if svc is None:
            for s in self._slices_of(ns, name):
                await self._delete(s)
            self.tracker.forget(key)
            return None
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName" or not spec.get("selector"):
            return None  # no slices from this controller (upstream: issues.k8s.io/105986; no selector)
        pods = self.selected_pods(svc, ns)
        existing = self._slices_of(ns, name)
        if self.tracker.stale(key, existing):
            # Our last write is not in the cache yet; its informer event brings the key back, usually sooner.
            return STALE_RETRY_SECONDS
        nodes = {n["metadata"]["name"]: n for n in self.node_informer.store.list()}
        desired = esu.desired_endpoints(svc, pods, nodes)
        todo = esu.plan(svc, desired, existing, self.max_per_slice)
        for s in todo.delete:
            await self._delete(s)
            self.tracker.deleted(key, s["metadata"]["name"])
        for s in todo.update:
            self.tracker.wrote(key, await self.client.update(ENDPOINTSLICES, s, ns))
        for s in todo.create:
            self.tracker.wrote(key, await self.client.create(ENDPOINTSLICES, s, ns))
        return None

    async def _delete(self, slice_: Obj) -> None:
        md = slice_["metadata"]
        try:
            await self.client.delete(ENDPOINTSLICES, md["name"], md.get("namespace"))
        except StatusError as err:
            if not is_not_found(err):
                raise
