"""Userspace mode: an asyncio TCP proxy for hosts where kube-proxy may not touch iptables.

Each TCP service port gets listeners on its cluster IP, its load-balancer and external IPs (all made local by
adding them to the guard device) and on 0.0.0.0:nodePort. A connection is sent to the next ready endpoint in
round-robin order (or, with sessionAffinity ClientIP, to the endpoint that client used last, within the
timeout); when an endpoint refuses, the next one is tried. The sockets and the copying are in `splice`.
UDP and SCTP ports are not proxied in this mode.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kube_proxy import netif
from kube_proxy.metrics import ProxyMetrics
from kube_proxy.servicemap import Endpoint, ProxyTable
from kube_proxy.splice import Listener, Splice

log = logging.getLogger("kube_proxy.userspace")
AFFINITY_PRUNE_AT = 10000  # remembered clients per service port before expired ones are forgotten


@dataclass
class Backend:
    """The endpoints of one service port and where the round robin is."""

    name: str
    endpoints: list[Endpoint] = field(default_factory=list)
    affinity_seconds: int = 0
    _next: int = 0
    _affinity: dict[str, tuple[Endpoint, float]] = field(default_factory=dict)

    def candidates(self, client_ip: str) -> list[Endpoint]:
        """Endpoints to try, in order: the sticky one (if any) or the next in turn, then the others."""
        eps = self.endpoints
        if not eps:
            return []
        if self.affinity_seconds:
            sticky = self._affinity.get(client_ip)
            if sticky and sticky[0] in eps and time.monotonic() - sticky[1] < self.affinity_seconds:
                i = eps.index(sticky[0])
                return eps[i:] + eps[:i]
        i = self._next % len(eps)
        self._next = i + 1
        return eps[i:] + eps[:i]

    def used(self, client_ip: str, ep: Endpoint) -> None:
        if self.affinity_seconds:
            now = time.monotonic()
            if len(self._affinity) >= AFFINITY_PRUNE_AT:
                self._affinity = {
                    k: v for k, v in self._affinity.items() if now - v[1] < self.affinity_seconds
                }
            self._affinity[client_ip] = (ep, now)

    def route(self, client_ip: str) -> tuple[list[Endpoint], Callable[[Endpoint], None], str]:
        """For a new connection from `client_ip`: endpoints to try, what to call with the one that took it."""
        return self.candidates(client_ip), lambda ep: self.used(client_ip, ep), self.name


@dataclass
class _Listening:
    listener: Listener
    backend: Backend


def node_port_addresses(table: ProxyTable, address: str) -> dict[tuple[str, int], str]:
    """(address, nodePort) -> service port name, for every TCP service port with a node port."""
    return {
        (address, sp.node_port): sp.name_string for sp, _ in table if sp.protocol == "TCP" and sp.node_port
    }


class PortListeners:
    """TCP listeners on (address, port) pairs, each sending its connections to the ready endpoints of one service
    port. `sync` opens and closes listeners to match what it is given; a listener that cannot be opened (the
    address is not local, the port is taken) is logged and counted, and tried again on the next sync."""

    def __init__(self) -> None:
        self.listeners: dict[tuple[str, int], _Listening] = {}
        self.backends: dict[str, Backend] = {}
        self.connections: set[Splice] = set()

    def sync(self, table: ProxyTable, wanted: dict[tuple[str, int], str]) -> int:
        """Listen on exactly the addresses of `wanted` (address -> service port name); return how many of them
        could not be opened."""
        keys = set(wanted.values())
        for sp, endpoints in table:
            if sp.name_string in keys:
                backend = self.backends.setdefault(sp.name_string, Backend(sp.name_string))
                backend.endpoints = endpoints
                backend.affinity_seconds = sp.affinity_seconds
        for key in set(self.backends) - keys:
            del self.backends[key]
        for addr in [a for a, lst in self.listeners.items() if wanted.get(a) != lst.backend.name]:
            self.listeners.pop(addr).listener.close()
        loop = asyncio.get_running_loop()
        failed = 0
        for addr, key in wanted.items():
            if addr in self.listeners or key not in self.backends:
                continue
            backend = self.backends[key]
            try:
                listener = Listener(loop, addr, backend.route, self.connections)
            except OSError as exc:
                failed += 1
                log.warning(
                    "cannot listen",
                    extra={"address": f"{addr[0]}:{addr[1]}", "service": key, "error": str(exc)},
                )
                continue
            self.listeners[addr] = _Listening(listener, backend)
        return failed

    def close(self) -> None:
        for lst in self.listeners.values():
            lst.listener.close()
        self.listeners.clear()
        for conn in list(self.connections):
            conn.close()


class UserspaceProxier:
    mode = "userspace"

    def __init__(
        self, guard_cidrs: list[str], metrics: ProxyMetrics, *, bind_node_ports: str = "0.0.0.0"
    ) -> None:
        self.guard_cidrs = guard_cidrs
        self.metrics = metrics
        self.bind_node_ports = bind_node_ports
        self.ports = PortListeners()
        self.anchor = netif.anchor_address(guard_cidrs)

    @property
    def listeners(self) -> dict[tuple[str, int], _Listening]:
        return self.ports.listeners

    async def setup(self) -> None:
        await netif.ensure_guard(self.guard_cidrs)
        await netif.sync_addresses([], self.anchor)

    def _wanted(self, table: ProxyTable) -> dict[tuple[str, int], str]:
        addrs: dict[tuple[str, int], str] = {}
        for sp, _ in table:
            if sp.protocol != "TCP":
                continue
            addrs[(sp.cluster_ip, sp.port)] = sp.name_string
            for ip in (*sp.load_balancer_ips, *sp.external_ips):
                addrs[(ip, sp.port)] = sp.name_string
        return addrs | node_port_addresses(table, self.bind_node_ports)

    async def sync(self, table: ProxyTable) -> None:
        wanted = self._wanted(table)
        # The service addresses are made local first: a listener can bind only a local address.
        virtual = {ip for ip, _ in wanted if ip != self.bind_node_ports and ip != self.anchor}
        await netif.sync_addresses(virtual, self.anchor)
        failed = self.ports.sync(table, wanted)
        self.metrics.rules.labels("listeners").set(len(self.ports.listeners))
        if failed:
            raise OSError(f"{failed} listeners could not be opened")

    async def shutdown(self) -> None:
        self.ports.close()
        await netif.sync_addresses([], self.anchor)  # the guard device and its routes stay
