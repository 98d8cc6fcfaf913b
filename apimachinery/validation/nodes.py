"""Validation of Nodes and Bindings: the fields every kubelet turns into routes (podCIDR, addresses) and the
apiserver turns into a URL (addresses, the kubelet's port).

Kubernetes checks podCIDR(s) and leaves status.addresses free-form; kubelite checks the addresses too, because
its log proxy and its host-gw routes use them (an InternalIP that is not an IP cannot be routed to anyway).
Whether a podCIDR lies inside the cluster CIDR is a setting of the apiserver (`--cluster-cidr`), checked by the
Node strategy with `pod_cidr_outside`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from apimachinery.validation.common import (
    Errs,
    Obj,
    _items,
    _map,
    _port_number,
    duplicate,
    invalid,
    not_supported,
    required,
    required_enum,
    required_string,
)
from apimachinery.validation.network import cidr_errors, ip_errors, parse_cidr
from apimachinery.validation.pods import TAINT_EFFECTS, _quantity
from apimachinery.validation.syntax import is_dns1123_subdomain, is_label_value, is_qualified_name

ADDRESS_TYPES = ["ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"]
_IP_TYPES = ("InternalIP", "ExternalIP")


def _validate_pod_cidrs(spec: Obj, errs: Errs) -> None:
    pod_cidr = spec.get("podCIDR")
    if pod_cidr:
        errs.extend(invalid("spec.podCIDR", pod_cidr, m) for m in cidr_errors(pod_cidr))
    cidrs = spec.get("podCIDRs")
    if cidrs is None:
        return
    if not isinstance(cidrs, list):
        errs.append(invalid("spec.podCIDRs", cidrs, "must be a list"))
        return
    networks = []
    for i, cidr in enumerate(cidrs):
        msgs = cidr_errors(cidr)
        errs.extend(invalid(f"spec.podCIDRs[{i}]", cidr, m) for m in msgs)
        if not msgs:
            networks.append(parse_cidr(cidr))
    if len(cidrs) > 1:
        families = {n.version for n in networks if n is not None}
        if len(cidrs) > 2 or len(families) < len(networks):
            errs.append(
                invalid("spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family")
            )
        seen: set[str] = set()
        for i, cidr in enumerate(cidrs):
            if str(cidr) in seen:
                errs.append(duplicate(f"spec.podCIDRs[{i}]", cidr))
            seen.add(str(cidr))
    if pod_cidr and cidrs and cidrs[0] != pod_cidr:
        errs.append(invalid("spec.podCIDRs", cidrs, "first value must match `podCIDR`"))


def pod_cidr_outside(node: Obj, cluster_cidr: str) -> list[dict[str, str]]:
    """Causes for podCIDR(s) that are not inside `cluster_cidr` (the apiserver's --cluster-cidr)."""
    cluster = ipaddress.ip_network(cluster_cidr, strict=False)
    spec = node.get("spec") if isinstance(node.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    candidates = [("spec.podCIDR", spec.get("podCIDR"))]
    cidrs = spec.get("podCIDRs")
    candidates += [(f"spec.podCIDRs[{i}]", c) for i, c in enumerate(cidrs if isinstance(cidrs, list) else [])]
    causes = []
    for path, cidr in candidates:
        net = parse_cidr(cidr) if cidr else None
        if net is not None and net.version == cluster.version and not net.subnet_of(cluster):  # type: ignore[arg-type]
            causes.append(invalid(path, cidr, f"must be a subnet of the cluster CIDR {cluster_cidr}"))
    return causes


def _validate_taints(spec: Obj, errs: Errs) -> None:
    seen: set[tuple[str, str]] = set()
    for _, taint_path, taint in _items(spec, "taints", "spec.taints", errs):
        key, effect = taint.get("key"), taint.get("effect")
        if not key:
            errs.append(required(f"{taint_path}.key", ""))
        else:
            errs.extend(invalid(f"{taint_path}.key", key, m) for m in is_qualified_name(str(key)))
        if taint.get("value"):
            errs.extend(
                invalid(f"{taint_path}.value", taint["value"], m) for m in is_label_value(str(taint["value"]))
            )
        required_enum(taint, "effect", f"{taint_path}.effect", TAINT_EFFECTS, errs)
        if (str(key), str(effect)) in seen:
            errs.append(duplicate(taint_path, taint, "taints must be unique by key and effect pair"))
        seen.add((str(key), str(effect)))


def _validate_addresses(status: Obj, errs: Errs) -> None:
    seen: set[tuple[Any, Any]] = set()
    for _, addr_path, address in _items(status, "addresses", "status.addresses", errs):
        kind, value = address.get("type"), address.get("address")
        required_enum(address, "type", f"{addr_path}.type", ADDRESS_TYPES, errs)
        if not value:
            errs.append(required(f"{addr_path}.address", ""))
        elif kind in _IP_TYPES:
            errs.extend(invalid(f"{addr_path}.address", value, m) for m in ip_errors(value))
        else:
            errs.extend(invalid(f"{addr_path}.address", value, m) for m in is_dns1123_subdomain(str(value)))
        if (kind, value) in seen:
            errs.append(duplicate(addr_path, address))
        seen.add((str(kind), str(value)))
    endpoints = _map(status, "daemonEndpoints", "status.daemonEndpoints", errs)
    kubelet = _map(endpoints, "kubeletEndpoint", "status.daemonEndpoints.kubeletEndpoint", errs)
    if kubelet.get("Port") not in (None, 0):
        _port_number(kubelet["Port"], "status.daemonEndpoints.kubeletEndpoint.Port", errs)


def validate_node(node: Obj, errs: Errs) -> None:
    spec = _map(node, "spec", "spec", errs)
    _validate_pod_cidrs(spec, errs)
    _validate_taints(spec, errs)
    status = _map(node, "status", "status", errs)
    for kind in ("capacity", "allocatable"):
        for name, value in _map(status, kind, f"status.{kind}", errs).items():
            _quantity(value, f"status.{kind}[{name}]", errs)
    _validate_addresses(status, errs)


def validate_node_update(new: Obj, old: Obj, errs: Errs) -> None:
    """podCIDR(s), once set, do not change (Kubernetes: "node updates may not change podCIDR except from "" to
    valid")."""
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    new_spec = new.get("spec") if isinstance(new.get("spec"), dict) else {}
    assert isinstance(old_spec, dict) and isinstance(new_spec, dict)
    for key in ("podCIDR", "podCIDRs"):
        if old_spec.get(key) and new_spec.get(key) != old_spec.get(key):
            errs.append(
                invalid(
                    f"spec.{key}",
                    new_spec.get(key),
                    'node updates may not change podCIDR except from "" to valid',
                )
            )


def validate_binding(binding: Obj, errs: Errs) -> None:
    target = _map(binding, "target", "target", errs)
    kind = target.get("kind")
    if kind and kind != "Node":
        errs.append(not_supported("target.kind", kind, ["Node", "<empty>"]))
    name = required_string(target, "name", "target.name", errs)
    if name is not None:
        errs.extend(invalid("target.name", name, m) for m in is_dns1123_subdomain(name))
