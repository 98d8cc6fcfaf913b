"""The cluster zone: answers built from the informer caches of Services, EndpointSlices and Pods. No I/O.

`Zone.lookup(qname, qtype)` returns an `Answer` (rcode and sections), or None when the name is not ours to answer
(outside the zone, or a reverse name of an address outside the cluster's ranges): the server forwards those.

What answers what, as CoreDNS's kubernetes plugin does by default:
* A/AAAA of a Service: its cluster IP; of a headless one, the addresses of its ready endpoints (every endpoint when
  it sets publishNotReadyAddresses); an ExternalName Service is a CNAME to its external name (followed when that
  name is inside the zone).
* SRV `_port._proto.svc.ns.svc.zone`: priority 0, weight 100/n, the port, and as target the Service's name (cluster
  IP) or each endpoint's name (headless), with their addresses in the additional section.
* PTR of a cluster IP -> the Service's name; of an endpoint -> `<hostname or dashed IP>.<svc>.<ns>.svc.zone`; of
  any other pod -> `<dashed IP>.<ns>.pod.zone`.
* Pods: `a-b-c-d.ns.pod.zone` answers only when a pod of that namespace has that address ("pods verified").
* An unknown name: NXDOMAIN with the zone's SOA in the authority section; a known name without records of the
  type asked for: NOERROR and no answer (NODATA), with the SOA too. TTL 5 s for everything (the plugin's `ttl`).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.SRV import SRV

from apimachinery.informer import Store
from kube_dns import names

Obj = dict[str, Any]
IN = dns.rdataclass.IN
RT = dns.rdatatype
SPEC_VERSION = "1.1.0"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
REVERSE_ZONES = (dns.name.from_text("in-addr.arpa."), dns.name.from_text("ip6.arpa."))


@dataclass
class Answer:
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    additional: list[dns.rrset.RRset] = field(default_factory=list)


# -- the caches' indexes -------------------------------------------------------------------------------------


def _cluster_ips(svc: Obj) -> list[str]:
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [ip for ip in ips if ip and ip != "None"]


def _slice_service(s: Obj) -> list[str]:
    md = s.get("metadata") or {}
    service = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{md.get('namespace')}/{service}"] if service else []


def _slice_addresses(s: Obj) -> list[str]:
    return [a for ep in s.get("endpoints") or [] for a in (ep.get("addresses") or [])[:1]]


def _pod_ips(pod: Obj) -> list[str]:
    status = pod.get("status") or {}
    ips = [p.get("ip") for p in status.get("podIPs") or []] or [status.get("podIP")]
    return [ip for ip in ips if ip]


def add_indexers(services: Store, slices: Store, pods: Store) -> None:
    """The indexes `Zone` reads; call once, before the informers start."""
    services.add_indexer("clusterIP", _cluster_ips)
    slices.add_indexer("service", _slice_service)
    slices.add_indexer("address", _slice_addresses)
    pods.add_indexer("podIP", _pod_ips)


# -- building records ----------------------------------------------------------------------------------------


def _addr(ip: str) -> dns.rdata.Rdata:
    return A(IN, RT.A, ip) if ipaddress.ip_address(ip).version == 4 else AAAA(IN, RT.AAAA, ip)


def _rrsets(owner: dns.name.Name, ttl: int, rdatas: Iterable[dns.rdata.Rdata]) -> list[dns.rrset.RRset]:
    """One RRset per type, in the order the types first appear."""
    out: dict[int, dns.rrset.RRset] = {}
    for rd in rdatas:
        rrset = out.get(rd.rdtype)
        if rrset is None:
            rrset = out[rd.rdtype] = dns.rrset.RRset(owner, IN, rd.rdtype)
            rrset.update_ttl(ttl)
        rrset.add(rd)
    return list(out.values())


def _wanted(qtype: int, rdtype: int) -> bool:
    return qtype == rdtype or qtype == RT.ANY


@dataclass
class Endpoint:
    ip: str
    name: str  # its label: the hostname, or the dashed IP


class Zone:
    """Answers for one cluster domain from three informer stores (indexed by `add_indexers`)."""

    def __init__(
        self,
        services: Store,
        slices: Store,
        pods: Store,
        *,
        domain: str = "cluster.local",
        dns_ip: str = "",
        ttl: int = 5,
        cluster_ranges: Iterable[str] = (),
    ) -> None:
        self.services = services
        self.slices = slices
        self.pods = pods
        self.origin = dns.name.from_text(domain.rstrip(".") + ".")
        self.domain = domain.rstrip(".")
        self.dns_ip = dns_ip
        self.ttl = ttl
        self.ranges = [ipaddress.ip_network(r, strict=False) for r in cluster_ranges]
        self.serial = int(time.time())
        self.generation = 0  # counts changes: answers made before a change are stale after it

    def touch(self) -> None:
        """Something in the caches changed: the SOA serial follows (seconds, as CoreDNS's last-modified time)."""
        self.serial = max(self.serial, int(time.time()))
        self.generation += 1

    # -- entry point -----------------------------------------------------------------------------------------

    def lookup(self, qname: dns.name.Name, qtype: int) -> Answer | None:
        """The answer for (qname, qtype), or None when the name is not this zone's to answer."""
        lowered = qname.canonicalize()
        if lowered.is_subdomain(self.origin):
            labels = [label.decode() for label in lowered.relativize(self.origin).labels if label]
            return self._in_zone(qname, qtype, names.meaning(labels))
        if any(lowered.is_subdomain(z) for z in REVERSE_ZONES):
            return self._reverse(qname, qtype, [label.decode() for label in lowered.labels if label])
        return None

    # -- answers ---------------------------------------------------------------------------------------------

    def soa(self, owner: dns.name.Name | None = None) -> dns.rrset.RRset:
        ttl = min(self.ttl, 300)
        rd = SOA(
            IN, RT.SOA, dns.name.from_text("ns.dns", self.origin), dns.name.from_text("hostmaster", self.origin),
            self.serial % 2**32, 7200, 1800, 86400, ttl,
        )  # fmt: skip
        return _rrsets(owner or self.origin, ttl, [rd])[0]

    def _nodata(self) -> Answer:
        return Answer(authority=[self.soa()])

    def _nxdomain(self) -> Answer:
        return Answer(rcode=dns.rcode.NXDOMAIN, authority=[self.soa()])

    def _records(self, qname: dns.name.Name, qtype: int, rdatas: list[dns.rdata.Rdata]) -> Answer:
        """NOERROR with the records of the type asked for; NODATA when the name has none of it."""
        chosen = [rd for rd in rdatas if _wanted(qtype, rd.rdtype)]
        return Answer(answer=_rrsets(qname, self.ttl, chosen)) if chosen else self._nodata()

    def _in_zone(self, qname: dns.name.Name, qtype: int, m: names.Meaning, depth: int = 0) -> Answer:
        if isinstance(m, names.Apex):
            ns = NS(IN, RT.NS, dns.name.from_text("ns.dns", self.origin))
            if qtype == RT.SOA:
                return Answer(answer=[self.soa(qname)])
            return self._records(qname, qtype, [ns])
        if isinstance(m, names.Version):
            return self._records(qname, qtype, [TXT(IN, RT.TXT, [SPEC_VERSION])])
        if isinstance(m, names.NameServer):
            return self._records(qname, qtype, [_addr(self.dns_ip)] if self.dns_ip else [])
        if isinstance(m, names.Interior):
            if m.namespace is None:
                return self._nodata()
            if m.service is not None:
                exists = self.services.get_by_name(m.service, m.namespace) is not None
            else:
                exists = bool(self.services.index_keys("namespace", m.namespace))
            return self._nodata() if exists else self._nxdomain()
        if isinstance(m, names.ServiceName):
            return self._service(qname, qtype, m, depth)
        if isinstance(m, names.EndpointName):
            return self._endpoint(qname, qtype, m)
        if isinstance(m, names.PortName):
            return self._srv(qname, qtype, m)
        if isinstance(m, names.PodName):
            return self._pod(qname, qtype, m)
        return self._nxdomain()

    def _service(self, qname: dns.name.Name, qtype: int, m: names.ServiceName, depth: int) -> Answer:
        svc = self.services.get_by_name(m.service, m.namespace)
        if svc is None:
            return self._nxdomain()
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return self._external_name(qname, qtype, str(spec.get("externalName") or ""), depth)
        if qtype == RT.SRV:
            return self._srv_all(qname, svc)
        ips = _cluster_ips(svc)
        if not ips and spec.get("clusterIP") == "None":
            ips = [ep.ip for ep in self.endpoints(svc)]
        return self._records(qname, qtype, [_addr(ip) for ip in ips])

    def _external_name(self, qname: dns.name.Name, qtype: int, target: str, depth: int) -> Answer:
        try:
            target_name = dns.name.from_text(target.rstrip(".") + ".")
        except dns.exception.DNSException:
            return self._nodata()
        cname = _rrsets(qname, self.ttl, [CNAME(IN, RT.CNAME, target_name)])
        if qtype == RT.CNAME:
            return Answer(answer=cname)
        out = Answer(answer=cname)
        # A target inside the zone is followed here (a few hops at most); the client's resolver follows others.
        if depth < 4 and qtype != RT.ANY:
            lowered = target_name.canonicalize()
            if lowered.is_subdomain(self.origin):
                labels = [label.decode() for label in lowered.relativize(self.origin).labels if label]
                inner = self._in_zone(target_name, qtype, names.meaning(labels), depth + 1)
                out.answer += inner.answer
                out.additional += inner.additional
        return out

    def endpoints(self, svc: Obj) -> list[Endpoint]:
        """The endpoints DNS publishes for a Service: ready ones (all, with publishNotReadyAddresses), one per
        address, in address order."""
        md = svc.get("metadata") or {}
        publish_all = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        found: dict[str, Endpoint] = {}
        for s in self.slices.by_index("service", f"{md.get('namespace')}/{md.get('name')}"):
            if s.get("addressType") not in ("IPv4", "IPv6"):
                continue
            for ep in s.get("endpoints") or []:
                addresses = ep.get("addresses") or []
                ready = (ep.get("conditions") or {}).get("ready") is not False
                if not addresses or not (ready or publish_all):
                    continue
                ip = str(addresses[0])
                found.setdefault(ip, Endpoint(ip, str(ep.get("hostname") or names.dashed(ip))))
        return sorted(
            found.values(), key=lambda e: (ipaddress.ip_address(e.ip).version, ipaddress.ip_address(e.ip))
        )

    def _service_fqdn(self, svc: Obj) -> dns.name.Name:
        md = svc["metadata"]
        return dns.name.from_text(f"{md['name']}.{md['namespace']}.svc", self.origin)

    def _endpoint(self, qname: dns.name.Name, qtype: int, m: names.EndpointName) -> Answer:
        svc = self.services.get_by_name(m.service, m.namespace)
        if svc is None:
            return self._nxdomain()
        ips = [ep.ip for ep in self.endpoints(svc) if ep.name == m.endpoint]
        return self._records(qname, qtype, [_addr(ip) for ip in ips]) if ips else self._nxdomain()

    def _srv_records(
        self, svc: Obj, port_name: str, protocol: str
    ) -> tuple[list[SRV], list[dns.rrset.RRset]]:
        """SRV rdata of one named port of a Service and the address records of their targets."""
        spec = svc.get("spec") or {}
        svc_name = self._service_fqdn(svc)
        ips = _cluster_ips(svc)
        if ips:
            ports = [
                int(p["port"]) for p in spec.get("ports") or []
                if p.get("name") == port_name and str(p.get("protocol") or "TCP").lower() == protocol and p.get("port")
            ]  # fmt: skip
            srvs = [SRV(IN, RT.SRV, 0, 100, port, svc_name) for port in ports]
            return srvs, _rrsets(svc_name, self.ttl, [_addr(ip) for ip in ips]) if srvs else []
        md = svc.get("metadata") or {}
        port = None
        for s in self.slices.by_index("service", f"{md.get('namespace')}/{md.get('name')}"):
            for p in s.get("ports") or []:
                if p.get("name") == port_name and str(p.get("protocol") or "TCP").lower() == protocol:
                    port = p.get("port")
        eps = self.endpoints(svc)
        if port is None or not eps:
            return [], []
        weight = 100 // len(eps)
        srvs, extra = [], []
        for ep in eps:
            target = dns.name.from_text(ep.name, svc_name)
            srvs.append(SRV(IN, RT.SRV, 0, weight, int(port), target))
            extra += _rrsets(target, self.ttl, [_addr(ep.ip)])
        return srvs, extra

    def _port_known(self, svc: Obj, m: names.PortName) -> bool:
        md = svc.get("metadata") or {}
        ports = list((svc.get("spec") or {}).get("ports") or [])
        for s in self.slices.by_index("service", f"{md.get('namespace')}/{md.get('name')}"):
            ports += s.get("ports") or []
        return any(
            p.get("name") == m.port and str(p.get("protocol") or "TCP").lower() == m.protocol for p in ports
        )

    def _srv(self, qname: dns.name.Name, qtype: int, m: names.PortName) -> Answer:
        svc = self.services.get_by_name(m.service, m.namespace)
        if svc is None or not self._port_known(svc, m):
            return self._nxdomain()
        if not _wanted(qtype, RT.SRV):
            return self._nodata()
        srvs, extra = self._srv_records(svc, m.port, m.protocol)
        if not srvs:
            return self._nodata()
        return Answer(answer=_rrsets(qname, self.ttl, srvs), additional=extra)

    def _srv_all(self, qname: dns.name.Name, svc: Obj) -> Answer:
        """SRV of the Service's own name: every named port."""
        srvs: list[SRV] = []
        extra: list[dns.rrset.RRset] = []
        for p in (svc.get("spec") or {}).get("ports") or []:
            if p.get("name"):
                more, more_extra = self._srv_records(
                    svc, str(p["name"]), str(p.get("protocol") or "TCP").lower()
                )
                srvs += more
                extra += [rr for rr in more_extra if rr not in extra]
        if not srvs:
            return self._nodata()
        return Answer(answer=_rrsets(qname, self.ttl, srvs), additional=extra)

    def _pod(self, qname: dns.name.Name, qtype: int, m: names.PodName) -> Answer:
        pods = [
            p
            for p in self.pods.by_index("podIP", m.ip)
            if (p.get("metadata") or {}).get("namespace") == m.namespace
        ]
        if not pods:
            return self._nxdomain()
        return self._records(qname, qtype, [_addr(m.ip)])

    # -- reverse ---------------------------------------------------------------------------------------------

    def _reverse(self, qname: dns.name.Name, qtype: int, labels: list[str]) -> Answer | None:
        ip = names.reverse_ip(labels)
        if ip is None:
            return None
        target = self.ptr_target(ip)
        if target is None:
            inside = any(ipaddress.ip_address(ip) in net for net in self.ranges)
            return Answer(rcode=dns.rcode.NXDOMAIN, authority=[self.soa()]) if inside else None
        return self._records(qname, qtype, [PTR(IN, RT.PTR, target)])

    def ptr_target(self, ip: str) -> dns.name.Name | None:
        """The name an address points back to: a Service, an endpoint of one, or a pod."""
        by_ip = self.services.by_index("clusterIP", ip)
        if by_ip:
            return self._service_fqdn(by_ip[0])
        for s in self.slices.by_index("address", ip):
            for key in _slice_service(s):
                namespace, _, name = key.partition("/")
                owner = self.services.get_by_name(name, namespace)
                if owner is None:
                    continue
                for ep in self.endpoints(owner):
                    if ep.ip == ip:
                        return dns.name.from_text(ep.name, self._service_fqdn(owner))
        pods = self.pods.by_index("podIP", ip)
        if pods:
            pod_ns = (pods[0].get("metadata") or {}).get("namespace")
            return dns.name.from_text(f"{names.dashed(ip)}.{pod_ns}.pod", self.origin)
        return None
