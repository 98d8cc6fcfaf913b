"""Carrying out plans: per sync at most one `ipset restore` and one `iptables-restore`, and only what changed.

The data plane remembers what it last wrote (the filter text, each set's members) and which of our chains and sets
exist. A sync then writes:

1. `ipset restore`: sets that are new are created and filled, sets whose members changed are refilled through a
   scratch set and swapped in (no packet meets a half-filled set), and the sets that the previous sync's rules
   stopped using are destroyed (last: they are in no rule any more).
2. `iptables-restore --noflush`: our chains, whole, when their text changed or our jump is no longer the first
   rule of FORWARD (something inserted above it: the kubelet's KUBELITE-FORWARD accept, kube-proxy, Docker
   restarting). Pod churn alone usually changes only sets, so it costs no iptables-restore at all.

A full sync (the first, every `full_sync_interval`, and after any failure) re-reads which chains and sets exist
and rewrites everything, repairing whatever something else changed and removing what a killed agent left.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from netpol import ipset, iptables, rules
from netpol.metrics import PolicyMetrics
from netpol.plan import EGRESS, INGRESS, Plan

log = logging.getLogger("netpol.dataplane")

BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


@dataclass
class SyncResult:
    ipset_restored: bool
    iptables_restored: bool
    full: bool
    skipped: list[str]


class DataPlane:
    def __init__(self, metrics: PolicyMetrics, *, full_sync_interval: float = 60.0) -> None:
        self.metrics = metrics
        self.full_sync_interval = full_sync_interval
        self._last_full = float("-inf")
        self._chains: set[str] | None = None  # our chains on the host; None: unknown, read them
        self._sets: set[str] = set()  # our sets on the host
        self._members: dict[str, frozenset[str]] = {}  # what we last wrote into each set
        self._filter: str | None = None  # the filter text we last restored
        self._pending_destroy: set[str] = set()  # sets the last restore took out of every rule

    def _forget(self) -> None:
        self._chains = None
        self._filter = None
        self._members = {}
        self._pending_destroy = set()

    async def apply(self, plan: Plan) -> SyncResult:
        full = self._chains is None or time.monotonic() - self._last_full > self.full_sync_interval
        try:
            return await self._apply(plan, full)
        except Exception:
            self._forget()  # the next sync reads what is really there and rewrites it
            raise

    async def _apply(self, plan: Plan, full: bool) -> SyncResult:
        if full:
            self._chains = await iptables.our_chains()
            self._sets = await ipset.our_sets()
            self._members = {}
            self._filter = None
        built = rules.compile_plan(plan, self._chains or ())
        wanted = built.sets
        new = set(wanted) - self._sets
        changed = {n for n in wanted if n not in new and self._members.get(n) != wanted[n]}
        stale = self._sets - set(wanted)
        # Unreferenced since the last restore: destroy now. Referenced until this restore: destroy next time.
        destroy = set() if full else self._pending_destroy & stale  # (at start rules may still use them)
        text = rules.ipset_restore(wanted, changed, new, destroy)
        if text:
            await ipset.restore(text)
            self.metrics.restores.labels("ipset").inc()
        self._sets = (self._sets | new) - destroy
        self._members.update({n: wanted[n] for n in new | changed})
        for name in destroy:
            self._members.pop(name, None)
        self._pending_destroy = stale - destroy

        jump = rules.jump_fix(await iptables.forward_rules())
        body = built.text()
        restored = bool(jump) or body != self._filter
        if restored:
            await iptables.restore(built.text(jump))
            self.metrics.restores.labels("iptables").inc()
            if jump:
                log.info("our jump is the first rule of FORWARD again", extra={"lines": jump})
        self._chains = built.chains
        self._filter = body
        if full:
            self._last_full = time.monotonic()
        self._count(plan, built)
        return SyncResult(bool(text), restored, full, built.skipped)

    def _count(self, plan: Plan, built: rules.Compiled) -> None:
        self.metrics.rules.set(built.rule_count)
        self.metrics.chains.set(len(built.chains))
        self.metrics.sets.set(len(built.sets))
        self.metrics.set_entries.set(sum(len(m) for m in built.sets.values()))
        self.metrics.local_policies.set(plan.policies)
        for direction in (INGRESS, EGRESS):
            self.metrics.isolated_pods.labels(direction).set(plan.isolated(direction))
        self.metrics.skipped.inc(len(built.skipped))


async def cleanup() -> tuple[int, int]:
    """Remove the jump, every chain and every set of ours: (chains, sets) removed. Safe when none exist, and
    where ipset is not installed (there are no sets then)."""
    chains = await iptables.cleanup()
    sets = await ipset.cleanup() if ipset.available() else 0
    return chains, sets


def ensure_bridge_netfilter(path: Path = BRIDGE_NF) -> bool:
    """Pods of one node talk across its bridge: iptables sees that traffic only with bridge-nf-call-iptables on
    (Docker turns it on too). Returns whether it is on; off and unchangeable means policies between two pods of
    this node are not enforced, which is logged as an error."""
    try:
        if path.read_text().strip() != "1":
            path.write_text("1")
            log.info("sysctl net.bridge.bridge-nf-call-iptables=1")
        return True
    except OSError as exc:
        log.error(
            "bridged traffic bypasses iptables (load br_netfilter): policies between pods of this node are "
            "not enforced",
            extra={"path": str(path), "error": str(exc)},
        )
        return False
