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
from kube_proxy.servicemap import Endpoint, ProxyTable, ServicePort
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


class UserspaceProxier:
    mode = "userspace"

    def __init__(
        self, guard_cidrs: list[str], metrics: ProxyMetrics, *, bind_node_ports: str = "0.0.0.0"
    ) -> None:
        self.guard_cidrs = guard_cidrs
        self.metrics = metrics
        self.bind_node_ports = bind_node_ports
        self.listeners: dict[tuple[str, int], _Listening] = {}
        self.backends: dict[str, Backend] = {}
        self.connections: set[Splice] = set()
        self.anchor = netif.anchor_address(guard_cidrs)

    async def setup(self) -> None:
        await netif.ensure_guard(self.guard_cidrs)
        await netif.sync_addresses([], self.anchor)

    def _wanted(self, table: ProxyTable) -> tuple[dict[tuple[str, int], str], dict[str, ServicePort]]:
        addrs: dict[tuple[str, int], str] = {}
        ports: dict[str, ServicePort] = {}
        for sp, _ in table:
            if sp.protocol != "TCP":
                continue
            key = sp.name_string
            ports[key] = sp
            addrs[(sp.cluster_ip, sp.port)] = key
            for ip in (*sp.load_balancer_ips, *sp.external_ips):
                addrs[(ip, sp.port)] = key
            if sp.node_port:
                addrs[(self.bind_node_ports, sp.node_port)] = key
        return addrs, ports

    async def sync(self, table: ProxyTable) -> None:
        wanted, ports = self._wanted(table)
        eps = {sp.name_string: endpoints for sp, endpoints in table}
        for key, sp in ports.items():
            backend = self.backends.setdefault(key, Backend(key))
            backend.endpoints = eps.get(key, [])
            backend.affinity_seconds = sp.affinity_seconds
        for key in set(self.backends) - set(ports):
            del self.backends[key]
        for addr in [a for a, lst in self.listeners.items() if wanted.get(a) != lst.backend.name]:
            self.listeners.pop(addr).listener.close()
        virtual = {ip for ip, _ in wanted if ip != self.bind_node_ports and ip != self.anchor}
        await netif.sync_addresses(virtual, self.anchor)
        loop = asyncio.get_running_loop()
        failed = 0
        for addr, key in wanted.items():
            if addr in self.listeners:
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
        self.metrics.rules.labels("listeners").set(len(self.listeners))
        if failed:
            raise OSError(f"{failed} listeners could not be opened")

    async def shutdown(self) -> None:
        for lst in self.listeners.values():
            lst.listener.close()
        self.listeners.clear()
        for conn in list(self.connections):
            conn.close()
        await netif.sync_addresses([], self.anchor)  # the guard device and its routes stay
