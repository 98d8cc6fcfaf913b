"""iptables mode: every sync writes the whole rule set for the current proxy table with one iptables-restore.

A full sync (the first, then every `full_sync_interval`, and after any failure) also re-creates the guard routes
and the jump rules and re-reads which of our chains exist, so rules that something else flushed come back. Other
syncs trust the chain set remembered from the previous restore.
"""

from __future__ import annotations

import logging
import time

from kube_proxy import iptables, netif, rules
from kube_proxy.metrics import ProxyMetrics
from kube_proxy.servicemap import ProxyTable

log = logging.getLogger("kube_proxy.iptables_proxier")


class IptablesProxier:
    mode = "iptables"

    def __init__(
        self,
        options: rules.Options,
        guard_cidrs: list[str],
        metrics: ProxyMetrics,
        *,
        full_sync_interval: float = 30.0,
    ) -> None:
        self.options = options
        self.guard_cidrs = guard_cidrs
        self.metrics = metrics
        self.full_sync_interval = full_sync_interval
        self._chains: set[str] | None = None  # service chains in the nat table; None: unknown, read them
        self._last_full = float("-inf")
        self.last_rules: rules.Rules | None = None

    async def setup(self) -> None:
        """Guard routes first: from here on a packet to a virtual address can never leave the machine."""
        await netif.ensure_guard(self.guard_cidrs)
        if self.options.localhost_nodeports:
            netif.enable_route_localnet()

    async def sync(self, table: ProxyTable) -> None:
        full = self._chains is None or time.monotonic() - self._last_full > self.full_sync_interval
        if full:
            await netif.ensure_guard(self.guard_cidrs)
            await iptables.ensure_jumps()
            self._chains = {c for c in await iptables.chains("nat") if rules.is_service_chain(c)}
        built = rules.build(table, self.options, self._chains or ())
        try:
            await iptables.restore(built.text())
        except Exception:
            self._chains = None  # the next sync re-reads what is really there
            raise
        if full:
            self._last_full = time.monotonic()
        self._chains = set(built.nat_chains)
        self.last_rules = built
        for name, count in built.rule_count.items():
            self.metrics.rules.labels(name).set(count)
        log.debug(
            "rules synced", extra={"full": full, **built.rule_count, "deleted": len(built.deleted_chains)}
        )

    async def shutdown(self) -> None:
        """Remove every rule of ours; the guard routes stay (traffic to a service address keeps being dropped
        here rather than routed away)."""
        await iptables.cleanup()


async def cleanup_all(guard_cidrs: list[str]) -> None:
    """`--cleanup`: rules, userspace addresses, the guard device and its routes."""
    await iptables.cleanup()
    await netif.remove_guard(guard_cidrs)
