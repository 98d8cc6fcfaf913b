"""The DaemonSet controller: one pod per eligible node, rolled to a new template node by node.

Informers on DaemonSets, Nodes, Pods and ControllerRevisions feed one queue of DaemonSet keys. `reconcile`:

1. keeps the template history: the ControllerRevision of the current template is the update revision, its hash
   labels the pods made from it (`history.py`);
2. claims pods (adopts matching orphans, releases owned pods that stopped matching) and groups them by the node
   they are for (bound, or pinned by node affinity while the scheduler has not bound them yet);
3. when its expectations are met: creates a pod on every eligible node without one and deletes pods that must go
   (`daemonset_util.plan_nodes`); if that needed nothing, takes one rolling-update step (RollingUpdate strategy;
   OnDelete waits for the user to delete pods);
4. drops history beyond revisionHistoryLimit and writes the status.

Nodes changing (added, relabelled, tainted) wake every DaemonSet, so a new node gets its pod.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from apimachinery.backoff import ItemBackoff
from apimachinery.errors import StatusError, ignore_not_found, is_not_found
from apimachinery.events import NORMAL, WARNING
from apimachinery.resources import must_resource
from apimachinery.workloads import CONTROLLER_REVISION_HASH
from controller_manager import daemonset_util as util
from controller_manager import history, replicaset_util
from controller_manager.base import NODES, PODS, Context, working_copy
from controller_manager.expectations import Expectations
from controller_manager.ownership import (
    SUCCESSFUL_DELETE,
    PodOwnerController,
    claim_pods,
)
from controller_manager.podutil import Obj, is_terminating, key_of, now

log = logging.getLogger(__name__)

DAEMONSETS = must_resource("apps", "daemonsets")

FAILED_DAEMON_POD = "FailedDaemonPod"
FAILED_BACKOFF = (1.0, 900.0)  # first and longest wait before replacing a failed daemon pod on the same node


class DaemonSetController(PodOwnerController):
    name = "daemonset"
    kind = "DaemonSet"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations(ttl=ctx.options.expectations_ttl)
        self.ds_informer = self.owner_informer = self.watch_owners(DAEMONSETS)
        self.node_informer = self.watch(NODES, self._on_node, on_update=self._on_node_update)
        self.pod_informer = self.watch_pods()
        self.cr_informer = self.watch_owned(history.CONTROLLERREVISIONS, self.ds_informer)
        # (daemonset key, node) -> monotonic time before which a failed pod is not replaced, and the delays
        self._failed_until: dict[tuple[str, str], float] = {}
        self._failed_delays = ItemBackoff(*FAILED_BACKOFF)

    # -- handlers -------------------------------------------------------------------------------------------

    def _enqueue_all(self) -> None:
        for key in self.ds_informer.store.keys():
            self.enqueue(key)

    def _on_node(self, _node: Obj) -> None:
        self._enqueue_all()

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        # Heartbeats change only status; labels, taints and unschedulable change where daemons may run.
        if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels") or old.get(
            "spec"
        ) != new.get("spec"):
            self._enqueue_all()

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        ds = working_copy(self.ds_informer, key)
        if ds is None:
            self.expectations.delete(key)
            for gone in [k for k in self._failed_until if k[0] == key]:
                del self._failed_until[gone]
                self._failed_delays.forget(gone)
            return None
        selector = self.selector_of(ds, key, "daemon set")
        if selector is None:
            return None
        revisions, update = await history.revisions_of(
            self.client, ds, self.cr_informer.store, self._write_status
        )
        if update is None:
            return history.COLLISION_RETRY
        revision_hash = (update["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH, "")
        pods_by_node = await self._pods_by_node(ds, selector.matches)
        nodes = self.node_informer.store.list()
        at = now()
        if self.expectations.satisfied(key) and not is_terminating(ds):
            acted = await self._manage(key, ds, nodes, pods_by_node, revision_hash)
            if not acted and self.expectations.satisfied(key):
                strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
                if strategy.get("type", "RollingUpdate") == "RollingUpdate":
                    desired = sum(1 for n in nodes if util.node_should_run(ds, n)[0])
                    delete, surge_on = util.rolling_update(ds, pods_by_node, desired, revision_hash, at)
                    await self._sync_nodes(key, ds, surge_on, delete, revision_hash)
            await self._cleanup_history(ds, revisions, update, pods_by_node)
        status = util.compute_status(ds, nodes, pods_by_node, revision_hash, at)
        await self._write_status(ds, status)
        return self._next_check(ds, status)

    async def _pods_by_node(self, ds: Obj, matches: Any) -> dict[str, list[Obj]]:
        ns = ds["metadata"]["namespace"]
        candidates = self.pod_informer.store.by_index("namespace", ns)
        owned, adopt, release = replicaset_util.classify_pods(ds, candidates, matches)
        owned += await claim_pods(self.client, DAEMONSETS, ds, adopt, release)
        by_node: dict[str, list[Obj]] = {}
        for pod in owned:
            if not pod:
                continue
            node = util.target_node(pod)
            if node:
                by_node.setdefault(node, []).append(pod)
        return by_node

    async def _manage(
        self, key: str, ds: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]], revision_hash: str
    ) -> bool:
        """Create and delete so each eligible node has one daemon pod; True if anything was asked for."""
        actions = util.plan_nodes(ds, nodes, pods_by_node, revision_hash, now())
        delete = list(actions.delete)
        for node, pod in actions.failed:
            backoff_key = (key, node)
            until = self._failed_until.get(backoff_key, 0.0)
            if time.monotonic() < until:
                self.queue.add_after(key, until - time.monotonic())
                continue
            self._failed_until[backoff_key] = time.monotonic() + self._failed_delays.when(backoff_key)
            phase = (pod.get("status") or {}).get("phase")
            verb = "failed" if phase == "Failed" else "succeeded"
            self.recorder.event(
                ds,
                WARNING,
                FAILED_DAEMON_POD,
                f"Found {verb} daemon pod {key_of(pod)} on node {node}, will try to kill it",
            )
            delete.append(pod)
        await self._sync_nodes(key, ds, actions.create_on, delete, revision_hash)
        return bool(actions.create_on or delete)

    async def _sync_nodes(
        self, key: str, ds: Obj, create_on: list[str], delete: list[Obj], revision_hash: str
    ) -> None:
        if not create_on and not delete:
            return
        # Record first: the informer may show a new pod before its POST returns.
        self.expectations.expect(key, len(create_on), [key_of(p) for p in delete])
        ns = ds["metadata"]["namespace"]
        errors = await self.create_pods(
            key, ds, [util.new_pod(ds, node, revision_hash) for node in create_on]
        )
        if errors is None:
            return
        for pod in delete:
            try:
                await self.client.delete(PODS, pod["metadata"]["name"], ns)
                self.recorder.event(ds, NORMAL, SUCCESSFUL_DELETE, f"Deleted pod: {pod['metadata']['name']}")
            except StatusError as err:
                self.expectations.deletion_observed(key, key_of(pod))
                if not is_not_found(err):
                    errors.append(err)
        if errors:
            raise errors[0]

    async def _cleanup_history(
        self, ds: Obj, revisions: list[Obj], update: Obj, pods_by_node: dict[str, list[Obj]]
    ) -> None:
        hashes = {
            (p["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH)
            for pods in pods_by_node.values()
            for p in pods
        }
        live = {update["metadata"]["name"]}
        live |= {
            r["metadata"]["name"]
            for r in revisions
            if (r["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH) in hashes
        }
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit", 10)
        for revision in history.to_delete(
            [r for r in revisions if r["metadata"]["name"] != update["metadata"]["name"]], live, limit
        ):
            with ignore_not_found():
                await self.client.delete(
                    history.CONTROLLERREVISIONS, revision["metadata"]["name"], ds["metadata"]["namespace"]
                )

    def _next_check(self, ds: Obj, status: Obj) -> float | None:
        """minReadySeconds: look again when ready pods may have become available."""
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and status.get("numberAvailable", 0) < status.get("numberReady", 0):
            return float(min_ready)
        return None

    async def _write_status(self, ds: Obj, status: Obj) -> None:
        if (ds.get("status") or {}) == status:
            return
        with ignore_not_found():
            await self.client.update(
                DAEMONSETS, {**ds, "status": status}, ds["metadata"]["namespace"], subresource="status"
            )
