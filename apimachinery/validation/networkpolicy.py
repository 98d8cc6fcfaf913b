"""Validation of networking.k8s.io/v1 NetworkPolicies, with kube-apiserver's rules and messages
(pkg/apis/networking/validation, v1.32): the pod selector and every peer selector are label selectors; a peer names
a podSelector, a namespaceSelector (or both), or an ipBlock alone; an ipBlock's CIDR is valid and each `except` is a
strict subset of it; a port is a number in 1-65535 or a port name, `endPort` only with a numeric port and not below
it; protocols TCP, UDP or SCTP; at most two policyTypes, each Ingress or Egress.

One thing is stricter than kube-apiserver 1.32, as 1.33's StrictIPCIDRValidation is: a CIDR is read by the
`ipaddress` module, so "010.0.0.0/8" (octal to iptables, decimal to Go) is not a valid CIDR.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from apimachinery.validation.common import (
    Errs,
    Obj,
    _items,
    forbidden,
    invalid,
    not_supported,
    required,
    validate_label_selector,
)
from apimachinery.validation.syntax import is_port_name

PROTOCOLS = ["TCP", "UDP", "SCTP"]
POLICY_TYPES = ["Ingress", "Egress"]
MSG_PORT = "must be between 1 and 65535, inclusive"
_CIDR_SHAPE = re.compile(r"[0-9A-Fa-f.:]+/[0-9]{1,3}")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(value: Any) -> Network | None:
    """The network a CIDR string names (host bits allowed, as Go's ParseCIDR allows them), or None: an address
    and a prefix length, nothing else (no netmask form, no zone, no bare address)."""
    if not isinstance(value, str) or not _CIDR_SHAPE.fullmatch(value):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _is_port_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _selector(parent: Obj, key: str, path: str, errs: Errs) -> bool:
    """Validate `parent[key]` as a label selector when it is set; whether it is set."""
    value = parent.get(key)
    if value is None:
        return False
    if not isinstance(value, dict):
        errs.append(invalid(path, value, "must be an object"))
    else:
        validate_label_selector(value, path, errs)
    return True


def validate_port(port: Obj, path: str, errs: Errs) -> None:
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    number, end = port.get("port"), port.get("endPort")
    if end is not None and (isinstance(end, bool) or not isinstance(end, int)):
        errs.append(invalid(f"{path}.endPort", end, "must be an integer"))
        end = None
    if number is None:
        if end is not None:
            errs.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is not specified"))
    elif isinstance(number, str):
        if end is not None:
            errs.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is non-numeric"))
        errs.extend(invalid(f"{path}.port", number, m) for m in is_port_name(number))
    elif isinstance(number, int) and not isinstance(number, bool):
        if not _is_port_number(number):
            errs.append(invalid(f"{path}.port", number, MSG_PORT))
        if end is not None:
            if end < number:
                errs.append(invalid(f"{path}.endPort", end, "must be greater than or equal to `port`"))
            if not _is_port_number(end):
                errs.append(invalid(f"{path}.endPort", end, MSG_PORT))
    else:
        errs.append(invalid(f"{path}.port", number, "must be an integer or a string"))


def validate_ip_block(block: Obj, path: str, errs: Errs) -> None:
    cidr = block.get("cidr")
    if not cidr:
        errs.append(required(f"{path}.cidr", ""))
        return
    network = parse_cidr(cidr)
    if network is None:
        errs.append(invalid(f"{path}.cidr", cidr, "not a valid CIDR"))
        return
    excepts = block.get("except")
    if excepts is None:
        return
    if not isinstance(excepts, list):
        errs.append(invalid(f"{path}.except", excepts, "must be a list"))
        return
    for i, text in enumerate(excepts):
        item_path = f"{path}.except[{i}]"
        inner = parse_cidr(text)
        if inner is None:
            errs.append(invalid(item_path, text, "not a valid CIDR"))
            return  # as kube-apiserver: the first bad entry ends the check
        if inner.network_address not in network or inner.prefixlen <= network.prefixlen:
            errs.append(invalid(item_path, text, "must be a strict subset of `cidr`"))


def validate_peer(peer: Obj, path: str, errs: Errs) -> None:
    count = 0
    count += _selector(peer, "podSelector", f"{path}.podSelector", errs)
    count += _selector(peer, "namespaceSelector", f"{path}.namespaceSelector", errs)
    block = peer.get("ipBlock")
    if block is not None:
        count += 1
        if isinstance(block, dict):
            validate_ip_block(block, f"{path}.ipBlock", errs)
        else:
            errs.append(invalid(f"{path}.ipBlock", block, "must be an object"))
    if count == 0:
        errs.append(required(path, "must specify a peer"))
    elif count > 1 and block is not None:
        errs.append(forbidden(path, "may not specify both ipBlock and another peer"))


def validate_network_policy(policy: Obj, errs: Errs) -> None:
    spec = policy.get("spec")
    if not isinstance(spec, dict):
        errs.append(invalid("spec", spec, "must be an object") if spec is not None else required("spec"))
        return
    _selector(spec, "podSelector", "spec.podSelector", errs)  # unset is {} (all pods): defaulting fills it in
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for _, rule_path, rule in _items(spec, direction, f"spec.{direction}", errs):
            for _, port_path, port in _items(rule, "ports", f"{rule_path}.ports", errs):
                validate_port(port, port_path, errs)
            for _, peer_path, peer in _items(rule, peers, f"{rule_path}.{peers}", errs):
                validate_peer(peer, peer_path, errs)
    types = spec.get("policyTypes")
    if types is None:
        return
    if not isinstance(types, list):
        errs.append(invalid("spec.policyTypes", types, "must be a list"))
    elif len(types) > len(POLICY_TYPES):
        errs.append(invalid("spec.policyTypes", types, "may not specify more than two policyTypes"))
    else:
        for i, kind in enumerate(types):
            if kind not in POLICY_TYPES:
                errs.append(not_supported(f"spec.policyTypes[{i}]", kind, POLICY_TYPES))
