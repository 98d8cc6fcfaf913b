"""The node lifecycle controller: notices nodes whose kubelet went quiet, taints them, and evicts their pods.

A kubelet renews its Lease in `kube-node-lease` every few seconds. We remember, per node, when we last *saw* the
renewTime change (by our own clock, so clock skew between machines does not matter; a node seen for the first time
gets a full grace period). When it has not changed for --node-monitor-grace-period, the node's conditions become
Unknown ("Kubelet stopped posting node status."), its pods are marked Ready=False, and it gets the
`node.kubernetes.io/unreachable` NoSchedule and NoExecute taints. Ready=False (reported by the kubelet) means the
`not-ready` taints instead; Ready=True removes them. NoExecute taints are added to at most --node-eviction-rate
nodes per second, as Kubernetes limits evictions per zone.

Pods on a node with NoExecute taints are evicted (deleted) when they tolerate none, or when the shortest matching
`tolerationSeconds` (counted from the taint's timeAdded) has passed; reconcile returns the time until the next one.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import StatusError, ignore_not_found, is_conflict, is_not_found
from apimachinery.events import NORMAL, WARNING
from controller_manager import taints
from controller_manager.base import LEASES, NODES, PODS, Context, Controller, with_kind, working_copy
from controller_manager.podutil import Obj, format_time, get_condition, is_pod_ready, now

log = logging.getLogger(__name__)

NODE_NOT_READY = "NodeNotReady"
TAINT_MANAGER_EVICTION = "TaintManagerEviction"
LEASE_NAMESPACE = "kube-node-lease"


@dataclass
class _Probe:
    beat: tuple[str | None, str | None]
    seen_at: float


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `take()` returns 0 (taken) or seconds to wait."""

    def __init__(self, rate: float, burst: int = 1, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def take(self) -> float:
        t = self.clock()
        self.tokens = min(self.burst, self.tokens + (t - self.stamp) * self.rate)
        self.stamp = t
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else 60.0


def pod_node_index(pod: Obj) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


class NodeLifecycleController(Controller):
    name = "node-lifecycle"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.grace = ctx.options.node_monitor_grace_period
        self.bucket = TokenBucket(ctx.options.node_eviction_rate)
        self.probes: dict[str, _Probe] = {}
        self.node_informer = self.watch(NODES, self.enqueue_object)
        self.lease_informer = self.watch(LEASES, self._on_lease, on_delete=None, namespace=LEASE_NAMESPACE)
        self.pod_informer = self.watch(PODS, self._on_pod, on_delete=None)
        self.pod_informer.add_indexer("nodeName", pod_node_index)

    # -- handlers -------------------------------------------------------------------------------------------

    def _on_lease(self, lease: Obj) -> None:
        self.enqueue(lease["metadata"]["name"])

    def _on_pod(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self.enqueue(node)

    # -- reconcile ------------------------------------------------------------------------------------------

    def _silent_for(self, node: Obj) -> float:
        """Seconds since we saw this node's kubelet alive (0 the first time we look).

        Alive means: the Lease's renewTime changed, or the Ready condition's lastHeartbeatTime did (a kubelet that
        posts its status is alive too, and our own writes never touch lastHeartbeatTime).
        """
        name = node["metadata"]["name"]
        lease = self.lease_informer.store.get(f"{LEASE_NAMESPACE}/{name}")
        ready = get_condition(node.get("status"), "Ready") or {}
        beat = (((lease or {}).get("spec") or {}).get("renewTime"), ready.get("lastHeartbeatTime"))
        mono = time.monotonic()
        probe = self.probes.get(name)
        if probe is None or probe.beat != beat:
            self.probes[name] = probe = _Probe(beat, mono)
        return mono - probe.seen_at

    async def reconcile(self, key: str) -> float | None:
        node = working_copy(self.node_informer, key)
        if node is None:
            self.probes.pop(key, None)
            return None
        silent = self._silent_for(node)
        next_check: float | None = None
        if silent > self.grace:
            node = await self._mark_unknown(node)
        else:
            next_check = self.grace - silent + 0.5
        ready = get_condition(node.get("status"), "Ready")
        ready_status = ready.get("status") if ready else None
        if ready_status == "Unknown":
            # Only for an unreachable node: a kubelet that reports NotReady is alive and owns its pods' status.
            await self._mark_pods_not_ready(node)
        wait = await self._sync_taints(node, ready_status)
        next_check = _earliest(next_check, wait)
        return _earliest(next_check, await self._evict(node))

    async def _mark_unknown(self, node: Obj) -> Obj:
        status = node.setdefault("status", {})
        conditions = status.setdefault("conditions", [])
        at = format_time(now())
        changed = False
        if get_condition(status, "Ready") is None:
            conditions.append(
                {
                    "type": "Ready",
                    "status": "Unknown",
                    "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                    "lastHeartbeatTime": node["metadata"].get("creationTimestamp", at),
                    "lastTransitionTime": at,
                }
            )
            changed = True
        for cond in conditions:
            if cond.get("status") != "Unknown":
                cond.update(
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.",
                    lastTransitionTime=at,
                )
                changed = True
        if not changed:
            return node
        updated = await self.client.update(NODES, node, subresource="status")
        name = node["metadata"]["name"]
        log.info("node stopped posting status", extra={"node": name})
        self.recorder.event(node, NORMAL, NODE_NOT_READY, f"Node {name} status is now: {NODE_NOT_READY}")
        return with_kind(updated, NODES)

    async def _mark_pods_not_ready(self, node: Obj) -> None:
        at = format_time(now())
        for pod in self.pod_informer.store.by_index("nodeName", node["metadata"]["name"]):
            if not is_pod_ready(pod) or pod["metadata"].get("deletionTimestamp"):
                continue
            body = copy.deepcopy(pod)
            for cond in body["status"]["conditions"]:
                if cond.get("type") == "Ready":
                    cond.update(status="False", lastTransitionTime=at)
            try:
                await self.client.update(PODS, body, subresource="status")
            except StatusError as err:
                if not (is_not_found(err) or is_conflict(err)):
                    raise
                # Changed or gone meanwhile: the pod event brings the node back here.
            self.recorder.event(with_kind(pod, PODS), WARNING, NODE_NOT_READY, "Node is not ready")

    async def _sync_taints(self, node: Obj, ready_status: str | None) -> float | None:
        current = (node.get("spec") or {}).get("taints") or []
        desired = taints.reconcile_taints(current, ready_status, now())
        if desired == current:
            return None
        had_no_execute = any(
            t.get("effect") == taints.NO_EXECUTE and t.get("key") in (taints.UNREACHABLE, taints.NOT_READY)
            for t in current
        )
        adds_no_execute = any(t.get("effect") == taints.NO_EXECUTE and t not in current for t in desired)
        if adds_no_execute and not had_no_execute:
            wait = self.bucket.take()
            if wait > 0:
                # Over the eviction rate: add only NoSchedule now, NoExecute when a token is free.
                desired = [t for t in desired if t.get("effect") != taints.NO_EXECUTE or t in current]
                await self._write_taints(node, desired)
                return wait
        await self._write_taints(node, desired)
        return None

    async def _write_taints(self, node: Obj, desired: list[Obj]) -> None:
        if desired == ((node.get("spec") or {}).get("taints") or []):
            return
        body = {
            "spec": {"taints": desired or None},
            "metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
        }
        updated = await self.client.patch(NODES, node["metadata"]["name"], body)
        node["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]
        node["spec"] = updated.get("spec") or {}

    async def _evict(self, node: Obj) -> float | None:
        node_taints = (node.get("spec") or {}).get("taints") or []
        if not any(t.get("effect") == taints.NO_EXECUTE for t in node_taints):
            return None
        at = now()
        next_due: float | None = None
        victims = []
        for pod in self.pod_informer.store.by_index("nodeName", node["metadata"]["name"]):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            due = taints.eviction_time(pod, node_taints, at)
            if due is None:
                continue
            if due <= at:
                victims.append(pod)
            else:
                next_due = _earliest(next_due, (due - at).total_seconds() + 0.1)
        await asyncio.gather(*(self._evict_pod(pod) for pod in victims))
        return next_due

    async def _evict_pod(self, pod: Obj) -> None:
        ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
        self.recorder.event(
            with_kind(pod, PODS),
            NORMAL,
            TAINT_MANAGER_EVICTION,
            f"Marking for deletion Pod {ns}/{name}",
        )
        with ignore_not_found():
            await self.client.delete(PODS, name, ns)
        log.info("evicted pod", extra={"pod": f"{ns}/{name}", "node": pod["spec"].get("nodeName")})


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
