"""What kube-proxy proxies: Service and Endpoints objects reduced to service ports and their ready endpoints.

Pure functions, no I/O. A Service contributes one `ServicePort` per entry of `spec.ports`; its Endpoints object of
the same name contributes the ready addresses of the port with the same name and protocol. Services that proxy
nothing are skipped, as kube-proxy skips them: headless (`clusterIP: None`), ExternalName, no cluster IP yet, and
those labelled `service.kubernetes.io/service-proxy-name` (another proxy owns them).
"""

from __future__ import annotations

from collections.abc import Iterable
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


ProxyTable = list[tuple[ServicePort, list[Endpoint]]]


def build_table(services: Iterable[Obj], endpoints_by_key: dict[str, Obj]) -> ProxyTable:
    """Every proxied service port with its ready endpoints, sorted by name so the output is stable.

    `endpoints_by_key` maps "namespace/name" to the Endpoints object of that name."""
    table: ProxyTable = []
    for svc in services:
        for sp in service_ports(svc):
            eps = endpoints_by_key.get(sp.service_key)
            table.append((sp, ready_endpoints(eps, sp.port_name, sp.protocol)))
    table.sort(key=lambda item: (item[0].namespace, item[0].name, item[0].port_name, item[0].protocol))
    return table
