"""The policy agent: informers on NetworkPolicies, Pods and Namespaces feed one rate-limited sync of the node's
filter table.

Handlers only ask for a sync, and only when something a rule depends on changed (a pod's status heartbeat does not
count; its labels, address, node, phase or ports do). The sync reads the three caches whole (level-triggered),
builds the plan and hands it to the data plane. Nothing is written before all informers have synced, so a restart
never programs a partial view (which could isolate pods without their allow rules).

Entries of a policy that fail the agent's own checks are skipped; each is logged and recorded once as a Warning
Event on the policy (reason PolicyEntrySkipped), and the rest of the policy is programmed.

On SIGTERM the agent stops and leaves its rules in place: policies stay enforced while it restarts (fail closed).
`kube-netpol --cleanup` (and `kctl down`) removes them.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from apimachinery.client import Client
from apimachinery.events import WARNING, EventRecorder
from apimachinery.informer import InformerFactory
from apimachinery.resources import must_resource
from apimachinery.syncrunner import SyncRunner, timed_sync
from netpol import plan as planning
from netpol.dataplane import DataPlane
from netpol.metrics import PolicyMetrics
from netpol.policy import Policy, parse_policy
from netpol.selection import Cluster

log = logging.getLogger("netpol")

POLICIES = must_resource("networking.k8s.io", "networkpolicies")
PODS = must_resource("", "pods")
NAMESPACES = must_resource("", "namespaces")
SKIPPED = "PolicyEntrySkipped"
COMPONENT = "kube-netpol"

Obj = dict[str, Any]


class EventSink(Protocol):
    """Where Events about policies go: apimachinery.events.EventRecorder, or a test's list."""

    def event(self, obj: Obj, type: str, reason: str, message: str) -> None: ...


def pod_fingerprint(pod: Obj) -> tuple[Any, ...]:
    """What of a pod the rules depend on; an update that changes none of it needs no sync."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ports = [
        (p.get("name"), p.get("containerPort"), p.get("protocol"))
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        if isinstance(c, dict)
        for p in c.get("ports") or []
        if isinstance(p, dict)
    ]
    return (
        repr(meta.get("labels")),
        spec.get("nodeName"),
        bool(spec.get("hostNetwork")),
        status.get("podIP"),
        repr(status.get("podIPs")),
        status.get("phase") in ("Succeeded", "Failed"),
        repr(ports),
    )


class PolicyAgent:
    def __init__(
        self,
        client: Client,
        dataplane: DataPlane,
        metrics: PolicyMetrics,
        *,
        node_names: Iterable[str],
        min_sync_period: float = 0.5,
        sync_period: float = 10.0,
        recorder: EventSink | None = None,
    ) -> None:
        self.client = client
        self.dataplane = dataplane
        self.metrics = metrics
        self.node_names = sorted(set(node_names))
        self.sync_period = sync_period
        self.recorder: EventSink = recorder or EventRecorder(client, COMPONENT, self.node_names[0])
        self.factory = InformerFactory(client)
        self.policies = self.factory.informer(POLICIES)
        self.pods = self.factory.informer(PODS)
        self.namespaces = self.factory.informer(NAMESPACES)
        self.runner = SyncRunner(self._sync, min_interval=min_sync_period, max_interval=sync_period)
        # uid -> (resourceVersion, problems already recorded for that version); only policies that still exist
        self._reported: dict[str, tuple[str, set[str]]] = {}
        request = self.runner.request
        self.policies.add_handler(lambda _o: request(), lambda _o, _n: request(), lambda _o: request())
        self.pods.add_handler(lambda _o: request(), self._pod_updated, lambda _o: request())
        self.namespaces.add_handler(lambda _o: request(), self._namespace_updated, lambda _o: request())

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if pod_fingerprint(old) != pod_fingerprint(new):
            self.runner.request()

    def _namespace_updated(self, old: Obj, new: Obj) -> None:
        if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
            self.runner.request()

    def healthy(self) -> bool:
        """Synced at least once, and not longer ago than two sync periods (a stuck sync loop is unhealthy)."""
        last = self.runner.last_success
        return last is not None and time.monotonic() - last < 2 * self.sync_period + 5

    def _policies(self) -> list[Policy]:
        out = []
        reported: dict[str, tuple[str, set[str]]] = {}
        for obj in self.policies.store.list():
            parsed = parse_policy(obj)
            meta = obj.get("metadata") or {}
            uid, version = str(meta.get("uid")), str(meta.get("resourceVersion"))
            seen = self._reported.get(uid)
            reported[uid] = seen if seen is not None and seen[0] == version else (version, set())
            self._report(obj, [p for p in parsed.problems if p not in reported[uid][1]])
            reported[uid][1].update(parsed.problems)
            if parsed.policy is not None:
                out.append(parsed.policy)
        self._reported = reported
        return out

    def _report(self, obj: Obj, problems: list[str]) -> None:
        """Log and record each problem of a policy (once per version of it: the caller remembers)."""
        meta = obj.get("metadata") or {}
        for problem in problems:
            self.metrics.skipped.inc()
            log.warning(
                "policy entry skipped",
                extra={"policy": f"{meta.get('namespace')}/{meta.get('name')}", "problem": problem},
            )
            ref = {"apiVersion": POLICIES.api_version, "kind": POLICIES.kind, **obj}
            self.recorder.event(ref, WARNING, SKIPPED, f"{problem} (kube-netpol on {self.node_names[0]})")

    async def _sync(self) -> None:
        start = time.monotonic()
        policies = self._policies()
        cluster = Cluster(self.pods.store.list(), self.namespaces.store.list())
        plan = planning.build(policies, cluster, self.node_names)
        with timed_sync(self.metrics, start) as timer:
            result = await self.dataplane.apply(plan)
        self.metrics.policies.set(len(self.policies.store))
        log.info(
            "synced",
            extra={
                "policies": len(policies),
                "isolated_ingress": plan.isolated(planning.INGRESS),
                "isolated_egress": plan.isolated(planning.EGRESS),
                "iptables_restore": result.iptables_restored,
                "ipset_restore": result.ipset_restored,
                "full": result.full,
                "seconds": round(timer.elapsed, 4),
            },
        )

    async def run(self) -> None:
        """Start the informers, sync until cancelled. The rules stay when it stops (see the module docstring)."""
        try:
            await self.runner.run_informed(self.factory, {"nodes": self.node_names})
        finally:
            if isinstance(self.recorder, EventRecorder):
                with contextlib.suppress(TimeoutError):  # an apiserver that is gone takes the last events
                    await self.recorder.flush(2)
                await self.recorder.aclose()
