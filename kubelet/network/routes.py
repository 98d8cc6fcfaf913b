"""host-gw: which routes to other nodes' pods this node may install, decided from Node objects (pure).

Every kubelet turns every other Node's podCIDR and InternalIP into `ip route replace <podCIDR> via <ip>`. A Node
object is written by a kubelet, so a hostile or broken one must not be able to steer this node's traffic: a
podCIDR is routed only when it is an IPv4 network strictly inside the cluster CIDR (never the cluster CIDR itself,
whose route is the guard, never 0.0.0.0/0), does not overlap this node's own podCIDR or another node's already
chosen one, and the gateway is a routable IPv4 address (not loopback, unspecified, multicast or reserved). What
fails is skipped and reported; the routes to every other node are still installed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from apimachinery.validation import host_ipv4, host_ipv4_network, unicast_ipv4

Obj = dict[str, Any]


@dataclass(frozen=True)
class RouteRejection:
    node: Obj = field(compare=False, hash=False)
    what: str
    why: str

    @property
    def key(self) -> tuple[str, str, str]:
        md = self.node.get("metadata") or {}
        return (str(md.get("uid")), str(md.get("resourceVersion")), self.what)


def _internal_ip(node: Obj) -> Any:
    status = node.get("status") if isinstance(node.get("status"), dict) else {}
    for address in (status or {}).get("addresses") or []:
        if isinstance(address, dict) and address.get("type") == "InternalIP":
            return address.get("address")
    return None


def desired_routes(
    nodes: Iterable[Obj], own_name: str, cluster_cidr: str, own_pod_cidr: str
) -> tuple[dict[str, str], list[RouteRejection]]:
    """(podCIDR -> gateway for every other node that may be routed, rejections)."""
    cluster = ipaddress.ip_network(cluster_cidr, strict=False)
    own = host_ipv4_network(own_pod_cidr)
    routes: dict[str, str] = {}
    chosen: list[ipaddress.IPv4Network] = []
    rejected: list[RouteRejection] = []
    ordered = sorted(nodes, key=lambda n: str((n.get("metadata") or {}).get("name")))
    for node in ordered:
        name = (node.get("metadata") or {}).get("name")
        spec = node.get("spec") if isinstance(node.get("spec"), dict) else {}
        cidr, ip = (spec or {}).get("podCIDR"), _internal_ip(node)
        if name == own_name or not cidr or not ip:
            continue
        local = host_ipv4(ip)
        if local is not None and ipaddress.IPv4Address(local).is_loopback:
            continue  # a node on this machine (several kubelets share it): its bridge is here, no route needed
        net = host_ipv4_network(cidr)
        gateway = unicast_ipv4(ip)
        what = f"route {cidr!r} via {ip!r}"[:200]
        if net is None:
            rejected.append(RouteRejection(node, what, "the podCIDR is not an IPv4 network"))
        elif not isinstance(cluster, ipaddress.IPv4Network) or not net.subnet_of(cluster) or net == cluster:
            rejected.append(
                RouteRejection(node, what, f"the podCIDR is not a subnet of the cluster CIDR {cluster_cidr}")
            )
        elif own is not None and net.overlaps(own):
            rejected.append(
                RouteRejection(node, what, f"the podCIDR overlaps this node's podCIDR {own_pod_cidr}")
            )
        elif any(net.overlaps(other) for other in chosen):
            rejected.append(RouteRejection(node, what, "the podCIDR overlaps another node's podCIDR"))
        elif gateway is None:
            rejected.append(RouteRejection(node, what, "the InternalIP is not a routable IPv4 address"))
        else:
            chosen.append(net)
            routes[str(net)] = gateway
    return routes, rejected


def own_pod_cidr_problem(pod_cidr: Any, cluster_cidr: str) -> str | None:
    """Why this node must not use `pod_cidr` for its own bridge, masquerade rule and CNI config, or None."""
    net = host_ipv4_network(pod_cidr)
    cluster = ipaddress.ip_network(cluster_cidr, strict=False)
    if net is None:
        return f"podCIDR {pod_cidr!r} is not an IPv4 network"
    if not isinstance(cluster, ipaddress.IPv4Network) or not net.subnet_of(cluster) or net == cluster:
        return f"podCIDR {pod_cidr} is not a subnet of the cluster CIDR {cluster_cidr}"
    return None
