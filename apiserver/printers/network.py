"""Services (TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S)) and Endpoints."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from apiserver.printers.common import (
    Obj,
    Row,
    age,
    columns,
    format_labels,
    name_of,
)

SERVICE_COLUMNS = columns(
    """
    Name
    Type: type determines how the Service is exposed.
    Cluster-IP: clusterIP is the IP address of the service.
    External-IP: externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.
    Port(s): The list of ports that are exposed by this service.
    Age
    Selector [wide]: Route service traffic to pods with label keys and values matching this selector.
"""
)


def _external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    external = list(spec.get("externalIPs") or [])
    kind = spec.get("type") or "ClusterIP"
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lb = sorted({i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")})
        return ",".join(lb + external) or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def format_ports(ports: list[Obj] | None) -> str:
    """`80/TCP,443:30443/TCP` (port[:nodePort]/protocol), or `<none>`."""
    pieces = []
    for port in ports or []:
        protocol = port.get("protocol") or "TCP"
        node_port = port.get("nodePort")
        pieces.append(
            f"{port.get('port')}:{node_port}/{protocol}" if node_port else f"{port.get('port')}/{protocol}"
        )
    return ",".join(pieces) or "<none>"


def service_row(svc: Obj, now: datetime) -> Row:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    cells = [
        name_of(svc),
        spec.get("type") or "ClusterIP",
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(svc),
        format_ports(spec.get("ports")),
        age(svc, now),
        format_labels(spec.get("selector")),
    ]
    return cells, None


ENDPOINTS_COLUMNS = columns(
    """
    Name
    Endpoints: The set of all endpoints is the union of all subsets.
    Age
"""
)


def format_endpoints(endpoints: Obj) -> str:
    """`10.244.0.5:80,10.244.0.6:80 + 3 more...` (the first three address:port pairs), or `<none>`."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or []
        for port in ports or [None]:
            count += len(addresses)
            for address in addresses:
                if len(shown) == 3:
                    break
                ip = address.get("ip", "")
                if port is None:
                    shown.append(ip)
                else:
                    host = f"[{ip}]" if _is_ipv6(ip) else ip
                    shown.append(f"{host}:{port.get('port')}")
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def _is_ipv6(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def endpoints_row(obj: Obj, now: datetime) -> Row:
    return [name_of(obj), format_endpoints(obj), age(obj, now)], None


ENDPOINTSLICE_COLUMNS = columns(
    """
    Name
    AddressType: The type of address carried by this EndpointSlice.
    Ports: The network ports exposed by each endpoint of this slice.
    Endpoints: The endpoints of this slice.
    Age
"""
)


def _first_three(items: list[str]) -> str:
    """listWithMoreString: the first three, `+ N more...` after them, `<unset>` for none."""
    if len(items) > 3:
        return f"{','.join(items[:3])} + {len(items) - 3} more..."
    return ",".join(items) or "<unset>"


def _slice_port(port: Obj) -> str:
    """formatDiscoveryPorts: the number, else the name (even empty), else `*`."""
    if port.get("port") is not None:
        return str(port["port"])
    if port.get("name") is not None:
        return str(port["name"])
    return "*"


def endpointslice_row(obj: Obj, now: datetime) -> Row:
    ports = [_slice_port(p) for p in obj.get("ports") or []]
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    cells = [
        name_of(obj),
        obj.get("addressType", ""),
        _first_three(ports),
        _first_three(addresses),
        age(obj, now),
    ]
    return cells, None
