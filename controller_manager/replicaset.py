"""The ReplicaSet controller: keeps `spec.replicas` pods that match the selector, and reports how many are ready.

The same code runs ReplicationControllers (`replication_controller.py`): only the resource, the kind and how the
selector is read differ (a plain label map there), as in Kubernetes.

Informers on ReplicaSets and Pods feed one queue of ReplicaSet keys. `reconcile` claims pods (adopting matching
orphans, releasing owned pods that stopped matching), creates or deletes pods to reach `spec.replicas` when its
expectations are satisfied, and writes the status. Creates go out in slow-start batches (1, 2, 4, ...); deletes
take the cheapest pods first (unscheduled, pending, unready, restarting, newest).
"""

from __future__ import annotations

import asyncio
import logging

from apimachinery.errors import StatusError, is_conflict, is_not_found
from apimachinery.events import NORMAL, WARNING
from controller_manager import replicaset_util as util
from controller_manager.base import PODS, REPLICASETS, Context
from controller_manager.expectations import Expectations
from controller_manager.ownership import (
    FAILED_DELETE,
    SUCCESSFUL_DELETE,
    PodOwnerController,
    claim_pods,
)
from controller_manager.podutil import Obj, is_pod_active, is_terminating, key_of, now, split_key

log = logging.getLogger(__name__)


class ReplicaSetController(PodOwnerController):
    name = "replicaset"
    resource = REPLICASETS
    kind = "ReplicaSet"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations(ttl=ctx.options.expectations_ttl)
        self.rs_informer = self.owner_informer = self.watch_owners(self.resource)
        self.pod_informer = self.watch_pods()

    # -- handlers: they only enqueue keys (and count what the cache has caught up with) ---------------------

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        rs = self.rs_informer.store.get(key)
        if rs is None:
            self.expectations.delete(key)
            return None
        ns, _ = split_key(key)
        try:
            selector = self.selector(rs)
        except ValueError as exc:
            log.warning("invalid selector", extra={"replicaset": key, "error": str(exc)})
            return None
        need_sync = self.expectations.satisfied(key) and not is_terminating(rs)
        candidates = [p for p in self.pod_informer.store.by_index("namespace", ns or "") if is_pod_active(p)]
        owned, adopt, release = util.classify_pods(rs, candidates, selector.matches)
        owned += await claim_pods(self.client, self.resource, self._typed(rs), adopt, release)
        if need_sync:
            await self._manage_replicas(key, rs, owned)
        at = now()
        await self._write_status(rs, util.compute_status(rs, owned, at))
        return util.next_availability_check(rs, owned, at)

    async def _manage_replicas(self, key: str, rs: Obj, owned: list[Obj]) -> None:
        wanted = int((rs.get("spec") or {}).get("replicas", 1))
        diff = len(owned) - wanted
        if diff < 0:
            await self._create_pods(key, rs, min(-diff, util.BURST_REPLICAS))
        elif diff > 0:
            await self._delete_pods(key, rs, util.pods_to_delete(owned, min(diff, util.BURST_REPLICAS)))

    async def _create_pods(self, key: str, rs: Obj, count: int) -> None:
        # Record first: the informer may see a new pod before the POST returns.
        self.expectations.expect_creations(key, count)
        template = util.pod_from_template(self._typed(rs))
        errors = await self.create_pods(key, rs, [template] * count)
        if errors:
            raise errors[0]

    async def _delete_pods(self, key: str, rs: Obj, victims: list[Obj]) -> None:
        self.expectations.expect_deletions(key, [key_of(p) for p in victims])

        async def delete(pod: Obj) -> None:
            name = pod["metadata"]["name"]
            try:
                await self.client.delete(PODS, name, pod["metadata"]["namespace"])
            except StatusError as err:
                self.expectations.deletion_observed(key, key_of(pod))
                if is_not_found(err):
                    return
                self.recorder.event(rs, WARNING, FAILED_DELETE, f"Error deleting: {err}")
                raise
            self.recorder.event(rs, NORMAL, SUCCESSFUL_DELETE, f"Deleted pod: {name}")

        results = await asyncio.gather(*(delete(p) for p in victims), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _write_status(self, rs: Obj, status: Obj) -> None:
        current = rs.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()):
            return
        body = {**rs, "status": status}
        try:
            await self.client.update(self.resource, body, rs["metadata"]["namespace"], subresource="status")
        except StatusError as err:
            if is_not_found(err):
                return
            if not is_conflict(err):
                raise
            # Our cache is behind: write onto the latest version (status is ours alone to compute).
            fresh = await self.client.get(self.resource, rs["metadata"]["name"], rs["metadata"]["namespace"])
            fresh["status"] = {**status, "observedGeneration": status["observedGeneration"]}
            await self.client.update(self.resource, fresh, rs["metadata"]["namespace"], subresource="status")

    def _typed(self, rs: Obj) -> Obj:
        """The owner with its kind and apiVersion (informer objects may lack them)."""
        return {**rs, "kind": self.kind, "apiVersion": self.resource.api_version}
