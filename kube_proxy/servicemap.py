"""What kube-proxy proxies: Services with their EndpointSlices (or Endpoints) reduced to service ports and the
endpoints that get their traffic.

Pure functions, no I/O. A Service contributes one `ServicePort` per entry of `spec.ports`. Its endpoints come from
either source, as the kube-proxy was told:

* EndpointSlices (the default, as upstream): the slices labelled `kubernetes.io/service-name: <service>` of an IP
  address type; for the slice port of the same name and protocol, the first address of every endpoint whose
  `ready` condition is not false; when a port has no ready endpoint at all, the serving endpoints that are
  terminating (kube-proxy's fallback, so connections drain during a rollout).
* Endpoints: the ready addresses of the port with the same name and protocol in the object of the same name.

Services that proxy nothing are skipped, as kube-proxy skips them: headless (`clusterIP: None`), ExternalName, no
cluster IP yet, and those labelled `service.kubernetes.io/service-proxy-name` (another proxy owns them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
DEFAULT_AFFINITY_SECONDS = 10800  # Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, with everything the data plane needs to capture its traffic."""

    namespace: str
    name: str
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    node_port: int = 0
    load_balancer_ips: tuple[str, ...] = ()
    external_ips: tuple[str, ...] = ()
    affinity_seconds: int = 0  # > 0: sessionAffinity ClientIP with this timeout

    @property
    def name_string(self) -> str:
        """ "ns/name:port" (":port" only for a named port), the string kube-proxy hashes and prints."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = field(default="", compare=False)  # informational: two entries of one ip:port are one

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


def should_skip(svc: Obj) -> bool:
    spec = svc.get("spec") or {}
    labels = (svc.get("metadata") or {}).get("labels") or {}
    if PROXY_NAME_LABEL in labels:
        return True
    if spec.get("type") == "ExternalName":
        return True
    return spec.get("clusterIP") in (None, "", "None")


def service_ports(svc: Obj) -> list[ServicePort]:
    """The proxied ports of `svc` (empty when it is skipped)."""
    if should_skip(svc):
        return []
    meta = svc.get("metadata") or {}
    spec = svc.get("spec") or {}
    status = svc.get("status") or {}
    lb_ips = tuple(
        ing["ip"] for ing in (status.get("loadBalancer") or {}).get("ingress") or [] if ing.get("ip")
    )
    if spec.get("type") != "LoadBalancer":
        lb_ips = ()
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
        affinity = int(cfg) if cfg else DEFAULT_AFFINITY_SECONDS
    out = []
    for p in spec.get("ports") or []:
        protocol = str(p.get("protocol") or "TCP").upper()
        if protocol not in PROTOCOLS or not p.get("port"):
            continue
        out.append(
            ServicePort(
                namespace=str(meta.get("namespace") or "default"),
                name=str(meta.get("name")),
                port_name=str(p.get("name") or ""),
                protocol=protocol,
                cluster_ip=str(spec["clusterIP"]),
                port=int(p["port"]),
                node_port=int(p.get("nodePort") or 0)
                if spec.get("type") in ("NodePort", "LoadBalancer")
                else 0,
                load_balancer_ips=lb_ips,
                external_ips=tuple(spec.get("externalIPs") or ()),
                affinity_seconds=affinity,
            )
        )
    return out


def ready_endpoints(endpoints: Obj | None, port_name: str, protocol: str) -> list[Endpoint]:
    """The ready addresses of `endpoints` for the port named `port_name` ("" for the unnamed port), sorted and
    without duplicates. Not-ready addresses never get traffic."""
    found: set[Endpoint] = set()
    for subset in (endpoints or {}).get("subsets") or []:
        for port in subset.get("ports") or []:
            if str(port.get("name") or "") != port_name:
                continue
            if str(port.get("protocol") or "TCP").upper() != protocol:
                continue
            for addr in subset.get("addresses") or []:
                if addr.get("ip"):
                    found.add(Endpoint(str(addr["ip"]), int(port["port"]), str(addr.get("nodeName") or "")))
    return sorted(found)


SERVICE_NAME_LABEL = "kubernetes.io/service-name"
IP_ADDRESS_TYPES = ("IPv4",)  # the address families the proxiers program


def slice_endpoints(slices: Iterable[Obj], port_name: str, protocol: str) -> list[Endpoint]:
    """The endpoints of one service port across a Service's EndpointSlices, sorted and without duplicates."""
    ready: set[Endpoint] = set()
    terminating: set[Endpoint] = set()
    for s in slices:
        if s.get("addressType") not in IP_ADDRESS_TYPES:
            continue
        for port in s.get("ports") or []:
            if (
                str(port.get("name") or "") != port_name
                or str(port.get("protocol") or "TCP").upper() != protocol
            ):
                continue
            if port.get("port") is None:
                continue
            for ep in s.get("endpoints") or []:
                addresses = ep.get("addresses") or []
                if not addresses:
                    continue
                endpoint = Endpoint(str(addresses[0]), int(port["port"]), str(ep.get("nodeName") or ""))
                cond = ep.get("conditions") or {}
                is_ready = cond.get("ready") is not False  # unknown (null) counts as ready
                if is_ready:
                    ready.add(endpoint)
                elif cond.get("serving") is not False and cond.get("terminating") is True:
                    terminating.add(endpoint)
    return sorted(ready or terminating)


def slices_by_service(slices: Iterable[Obj]) -> dict[str, list[Obj]]:
    """EndpointSlices grouped by "namespace/service" (their kubernetes.io/service-name label)."""
    out: dict[str, list[Obj]] = {}
    for s in slices:
        md = s.get("metadata") or {}
        service = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if service:
            out.setdefault(f"{md.get('namespace')}/{service}", []).append(s)
    return out


ProxyTable = list[tuple[ServicePort, list[Endpoint]]]


def build_table(services: Iterable[Obj], endpoints_by_key: dict[str, Obj]) -> ProxyTable:
    """Every proxied service port with its ready endpoints from Endpoints objects, sorted by name.

    `endpoints_by_key` maps "namespace/name" to the Endpoints object of that name."""
    return _table(
        services, lambda sp: ready_endpoints(endpoints_by_key.get(sp.service_key), sp.port_name, sp.protocol)
    )


def build_table_from_slices(services: Iterable[Obj], slices: Iterable[Obj]) -> ProxyTable:
    """Every proxied service port with its endpoints from EndpointSlices, sorted by name."""
    grouped = slices_by_service(slices)
    return _table(
        services, lambda sp: slice_endpoints(grouped.get(sp.service_key, []), sp.port_name, sp.protocol)
    )


def _table(services: Iterable[Obj], endpoints_of: Callable[[ServicePort], list[Endpoint]]) -> ProxyTable:
    table: ProxyTable = [(sp, endpoints_of(sp)) for svc in services for sp in service_ports(svc)]
    table.sort(key=lambda item: (item[0].namespace, item[0].name, item[0].port_name, item[0].protocol))
    return table
