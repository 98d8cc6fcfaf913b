"""The node IPAM controller: every Node gets `spec.podCIDR` (and `podCIDRs`), a /24 of the cluster CIDR by default.

The allocator's memory is rebuilt from the Nodes on start (before any worker runs), so a restarted controller
never hands out a subnet that a Node already has. A Node that is gone gives its subnet back.
"""

from __future__ import annotations

import logging

from apimachinery.errors import StatusError, is_not_found
from apimachinery.events import WARNING
from controller_manager.base import NODES, Context, Controller, with_kind
from controller_manager.cidr import CIDRAllocator, CIDRExhaustedError

log = logging.getLogger(__name__)

CIDR_NOT_AVAILABLE = "CIDRNotAvailable"


class NodeIpamController(Controller):
    name = "node-ipam"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.allocator = CIDRAllocator(ctx.options.cluster_cidr, ctx.options.node_cidr_mask_size)
        self.assigned: dict[str, str] = {}  # node name -> the subnet we know it has (or are giving it)
        self.node_informer = self.watch(NODES, self.enqueue_object)

    async def start(self) -> None:
        for node in self.node_informer.store.list():
            cidr = (node.get("spec") or {}).get("podCIDR")
            if cidr and self.allocator.occupy(cidr):
                self.assigned[node["metadata"]["name"]] = cidr

    async def reconcile(self, key: str) -> float | None:
        node = self.node_informer.store.get(key)
        if node is None:
            cidr = self.assigned.pop(key, None)
            if cidr:
                self.allocator.release(cidr)
            return None
        existing = (node.get("spec") or {}).get("podCIDR")
        if existing:
            if self.assigned.get(key) not in (None, existing):
                self.allocator.release(self.assigned[key])
            self.allocator.occupy(existing)
            self.assigned[key] = existing
            return None
        cidr = self.assigned.get(key)
        if cidr is None:
            try:
                cidr = self.allocator.allocate()
            except CIDRExhaustedError as exc:
                self.recorder.event(with_kind(node, NODES), WARNING, CIDR_NOT_AVAILABLE, str(exc))
                return 30.0
            self.assigned[key] = cidr
        try:
            await self.client.patch(NODES, key, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except StatusError as err:
            if is_not_found(err):
                self.allocator.release(self.assigned.pop(key))
                return None
            raise
        log.info("allocated pod CIDR", extra={"node": key, "cidr": cidr})
        return None
