"""Names outside the cluster: forwarded to the resolvers of the node's own resolv.conf, and only to those.

Upstreams are tried in their file order (as glibc does) with a timeout each; the first answer wins, whatever its
rcode. A client that asked over TCP is forwarded over TCP; a truncated UDP answer goes back truncated, so the client
retries over TCP as it would with any resolver. No answer from any upstream: SERVFAIL. At most `max_concurrent`
forwards run at once (CoreDNS's forward plugin default); beyond that the query is REFUSED at once rather than
queued without bound.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode

from apimachinery.dnsconfig import read_resolv_conf
from kube_dns.metrics import DNSMetrics

log = logging.getLogger("kube_dns.forward")


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def upstreams_from_resolv_conf(path: str, exclude: Iterable[str] = ()) -> list[Upstream]:
    """The nameservers of `path`, without our own addresses (forwarding to ourselves would loop)."""
    own = {str(ipaddress.ip_address(a)) for a in exclude if a}
    return [Upstream(ns) for ns in read_resolv_conf(path).nameservers if ns not in own]


@dataclass(eq=False)
class Forwarder:
    upstreams: list[Upstream]
    metrics: DNSMetrics
    _: KW_ONLY
    timeout: float = 2.0
    max_concurrent: int = 1000
    _running: int = field(default=0, init=False)

    async def forward(self, query: dns.message.Message, *, tcp: bool) -> dns.message.Message:
        """The upstream's answer to `query` (same id), or a SERVFAIL/REFUSED answer of our own."""
        if not self.upstreams:
            return _failure(query, dns.rcode.SERVFAIL)
        if self._running >= self.max_concurrent:
            return _failure(query, dns.rcode.REFUSED)
        self._running += 1
        try:
            for upstream in self.upstreams:
                start = time.monotonic()
                self.metrics.forward_requests.labels(str(upstream)).inc()
                try:
                    if tcp:
                        reply = await dns.asyncquery.tcp(query, upstream.host, self.timeout, upstream.port)
                    else:
                        reply = await dns.asyncquery.udp(
                            query, upstream.host, self.timeout, upstream.port, ignore_unexpected=True
                        )
                except (dns.exception.DNSException, OSError, EOFError, TimeoutError) as exc:
                    # This upstream failed: the next one is tried, and the last failure is a SERVFAIL.
                    log.warning("upstream failed", extra={"upstream": str(upstream), "error": repr(exc)})
                    continue
                self.metrics.forward_duration.labels(str(upstream)).observe(time.monotonic() - start)
                self.metrics.forward_responses.labels(str(upstream), dns.rcode.to_text(reply.rcode())).inc()
                return reply
            return _failure(query, dns.rcode.SERVFAIL)
        finally:
            self._running -= 1


def _failure(query: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
    reply = dns.message.make_response(query, recursion_available=True)
    reply.set_rcode(rcode)
    return reply
