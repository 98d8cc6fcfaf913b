"""iptables mode: every sync writes the whole rule set for the current proxy table with one iptables-restore.

A full sync (the first, then every `full_sync_interval`, and after any failure) also re-creates the guard routes
and the jump rules and re-reads which of our chains exist, so rules that something else flushed come back. Other
syncs trust the chain set remembered from the previous restore.

Node ports on 127.0.0.1 are DNAT'd to pods only where net.ipv4.conf.all.route_localnet=1 (the kernel otherwise
drops a packet from 127.0.0.1 that is routed to another interface). Where that sysctl cannot be set (a read-only
/proc/sys, as in most containers), the rules leave 127.0.0.0/8 alone and a userspace listener on 127.0.0.1 serves
each TCP node port instead (as userspace mode does); the rest stays in iptables.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from apimachinery import hostcheck
from kube_proxy import iptables, netif, rules
from kube_proxy.metrics import ProxyMetrics
from kube_proxy.servicemap import ProxyTable
from kube_proxy.userspace import PortListeners, node_port_addresses

log = logging.getLogger("kube_proxy.iptables_proxier")


@dataclasses.dataclass(eq=False)
class IptablesProxier:
    mode = "iptables"

    options: rules.Options
    guard_cidrs: list[str]
    metrics: ProxyMetrics
    _: dataclasses.KW_ONLY
    full_sync_interval: float = 30.0
    last_rules: rules.Rules | None = dataclasses.field(default=None, init=False)
    # node ports on 127.0.0.1 where route_localnet cannot be set
    localhost: PortListeners | None = dataclasses.field(default=None, init=False)
    # service chains in the nat table; None: unknown, read them
    _chains: set[str] | None = dataclasses.field(default=None, init=False)
    _last_full: float = dataclasses.field(default=float("-inf"), init=False)

    async def setup(self) -> None:
        """Guard routes first: from here on a packet to a virtual address can never leave the machine."""
        await netif.ensure_guard(self.guard_cidrs)
        if not self.options.localhost_nodeports:
            return
        if hostcheck.set_sysctl(hostcheck.ROUTE_LOCALNET, "1"):
            log.info("sysctl net.ipv4.conf.all.route_localnet=1")
            return
        log.warning(
            "cannot set net.ipv4.conf.all.route_localnet=1 (/proc/sys is read-only here): node ports on 127.0.0.1 "
            "are served by a userspace proxy (TCP only); on the other addresses they use iptables as usual"
        )
        self.options = dataclasses.replace(self.options, localhost_nodeports=False)
        self.localhost = PortListeners()

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
        if (
            self.localhost is not None
        ):  # a port it cannot open now (in use) is logged, and tried again next sync
            self.localhost.sync(table, node_port_addresses(table, "127.0.0.1"))
            self.metrics.rules.labels("listeners").set(len(self.localhost.listeners))
        log.debug(
            "rules synced", extra={"full": full, **built.rule_count, "deleted": len(built.deleted_chains)}
        )

    async def shutdown(self) -> None:
        """Remove every rule of ours; the guard routes stay (traffic to a service address keeps being dropped
        here rather than routed away)."""
        if self.localhost is not None:
            self.localhost.close()
        await iptables.cleanup()


async def cleanup_all(guard_cidrs: list[str]) -> None:
    """`--cleanup`: rules (where iptables is installed), userspace addresses, the guard device and its routes."""
    if hostcheck.iptables_installed():
        await iptables.cleanup()
    await netif.remove_guard(guard_cidrs)
