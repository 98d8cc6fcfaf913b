"""What a query name asks for, as Kubernetes' DNS specification (schema 1.1.0) lays out the cluster zone. Pure.

Inside the zone (labels read right to left):

    <zone>                                    apex: SOA, NS
    dns-version.<zone>                        TXT "1.1.0"
    ns.dns.<zone>                             A: the DNS service's address (the NS record's target)
    <svc>.<ns>.svc.<zone>                     a Service
    <endpoint>.<svc>.<ns>.svc.<zone>          one endpoint of a Service (its hostname, or its dashed IP)
    _<port>._<proto>.<svc>.<ns>.svc.<zone>    SRV of a named port
    <a-b-c-d>.<ns>.pod.<zone>                 a pod, by its dashed IP
    svc.<zone>, <ns>.svc.<zone>, pod.<zone>, _<proto>.<svc>.<ns>.svc.<zone>, ...   names without records

Reverse names (`d.c.b.a.in-addr.arpa`, nibbles under `ip6.arpa`) are turned into addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class Apex:
    pass


@dataclass(frozen=True)
class Version:
    pass


@dataclass(frozen=True)
class NameServer:
    pass


@dataclass(frozen=True)
class ServiceName:
    namespace: str
    service: str


@dataclass(frozen=True)
class EndpointName:
    namespace: str
    service: str
    endpoint: str


@dataclass(frozen=True)
class PortName:
    namespace: str
    service: str
    port: str
    protocol: str  # lower case: tcp, udp, sctp


@dataclass(frozen=True)
class PodName:
    namespace: str
    ip: str


@dataclass(frozen=True)
class Interior:
    """A name that exists in the zone but holds no records (an empty non-terminal): NODATA, not NXDOMAIN.
    `namespace` is set when the name exists only if that namespace has Services."""

    namespace: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class Missing:
    pass


Meaning = Apex | Version | NameServer | ServiceName | EndpointName | PortName | PodName | Interior | Missing


def meaning(labels: list[str]) -> Meaning:
    """What the in-zone name with these labels (left to right, lower case, without the zone's) stands for."""
    n = len(labels)
    if n == 0:
        return Apex()
    if labels == ["dns-version"]:
        return Version()
    if labels == ["dns"]:
        return Interior()
    if labels == ["ns", "dns"]:
        return NameServer()
    kind = labels[-1]
    if kind == "svc":
        return _service_meaning(labels[:-1])
    if kind == "pod":
        if n == 1:
            return Interior()
        if n == 2:
            return Interior(namespace=labels[0])
        if n == 3:
            ip = dashed_ip(labels[0])
            return PodName(labels[1], ip) if ip else Missing()
    return Missing()


def _service_meaning(rest: list[str]) -> Meaning:
    n = len(rest)
    if n == 0:
        return Interior()
    if n == 1:
        return Interior(namespace=rest[0])
    svc, ns = rest[-2], rest[-1]
    if n == 2:
        return ServiceName(ns, svc)
    if n == 3:
        if rest[0].startswith("_"):
            # `_tcp.<svc>...`: the parent of the SRV names, which holds no records itself.
            proto = rest[0][1:]
            return Interior(namespace=ns, service=svc) if proto in PROTOCOLS else Missing()
        return EndpointName(ns, svc, rest[0])
    if n == 4 and rest[0].startswith("_") and rest[1].startswith("_"):
        proto = rest[1][1:]
        if proto in PROTOCOLS and len(rest[0]) > 1:
            return PortName(ns, svc, rest[0][1:], proto)
    return Missing()


def dashed_ip(label: str) -> str | None:
    """ "10-244-0-5" -> "10.244.0.5" (IPv4), "fd00--1" -> "fd00::1" (IPv6); None for anything else."""
    for candidate in (label.replace("-", "."), label.replace("-", ":")):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def dashed(ip: str) -> str:
    """The label form of an address: dots (or colons) become dashes."""
    return ip.replace(".", "-").replace(":", "-")


def reverse_ip(labels: list[str]) -> str | None:
    """The address of a reverse name's labels (left to right, lower case, with "in-addr"/"ip6" and "arpa"); None
    when the name is not a whole address (a partial reverse zone, or garbage)."""
    if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
        try:
            return str(ipaddress.IPv4Address(".".join(reversed(labels[:4]))))
        except ValueError:
            return None
    if labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
        nibbles = "".join(reversed(labels[:32]))
        if all(len(x) == 1 for x in labels[:32]):
            try:
                return str(ipaddress.IPv6Address(int(nibbles, 16)))
            except ValueError:
                return None
    return None
