"""The Endpoints controller: for every Service with a selector, an Endpoints object listing its pods.

Informers on Services, Pods and Endpoints feed one queue of Service keys: a pod change enqueues every Service in its
namespace whose selector matched its old or its new labels. `reconcile` computes the subsets from the cache
(`endpoints_util.compute_subsets`) and writes only when they differ from the stored Endpoints. Services without a
selector are left alone (their Endpoints are written by hand); a deleted Service's Endpoints are deleted.
"""

from __future__ import annotations

import logging

from apimachinery.errors import StatusError, ignore_not_found, is_already_exists
from controller_manager import endpoints_util
from controller_manager.base import ENDPOINTS, Context
from controller_manager.podutil import Obj, key_of, split_key
from controller_manager.serviceselection import ServicePodsController

log = logging.getLogger(__name__)


class EndpointsController(ServicePodsController):
    name = "endpoints"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.ep_informer = self.watch(ENDPOINTS, on_delete=self._on_ep_delete)

    # -- handlers -------------------------------------------------------------------------------------------

    def _on_ep_delete(self, ep: Obj) -> None:
        # Deleted by someone else while its Service still selects pods: write it again.
        if self.svc_informer.store.get(key_of(ep)) is not None:
            self.enqueue(key_of(ep))

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        ns, name = split_key(key)
        svc = self.svc_informer.store.get(key)
        if svc is None:
            with ignore_not_found():
                await self.client.delete(ENDPOINTS, name, ns)
            return None
        if not (svc.get("spec") or {}).get("selector"):
            return None
        pods = self.selected_pods(svc, ns or "")
        subsets = endpoints_util.compute_subsets(svc, pods)
        existing = self.ep_informer.store.get(key)
        desired = endpoints_util.endpoints_for(svc, subsets, existing)
        if existing is None:
            try:
                await self.client.create(ENDPOINTS, desired, ns)
                return None
            except StatusError as err:
                if not is_already_exists(err):
                    raise
                # Our cache is behind: update the one that exists.
                existing = await self.client.get(ENDPOINTS, name, ns)
                desired = endpoints_util.endpoints_for(svc, subsets, existing)
        if endpoints_util.endpoints_changed(existing, desired):
            await self.client.update(ENDPOINTS, desired, ns)
        return None
