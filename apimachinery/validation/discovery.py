"""Validation of discovery.k8s.io/v1 EndpointSlices, with kube-apiserver's rules (pkg/apis/discovery/validation):
an address type among IPv4, IPv6 and FQDN (fixed once set), at most 1000 endpoints of 1 to 100 addresses of that
type (IPs neither unspecified, loopback nor link-local), DNS-label hostnames and port names (unique), a supported
protocol on every port, qualified-name app protocols."""

from __future__ import annotations

import ipaddress
from typing import Any

from apimachinery.validation.common import (
    Cause,
    Errs,
    Obj,
    _dict,
    _items,
    duplicate,
    invalid,
    not_supported,
    required,
    required_enum,
)
from apimachinery.validation.pods import PROTOCOLS
from apimachinery.validation.syntax import is_dns1123_label, is_dns1123_subdomain, is_qualified_name

ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 20000
MAX_ZONE_HINTS = 8
_LINK_LOCAL_MULTICAST = {4: ipaddress.ip_network("224.0.0.0/24"), 6: ipaddress.ip_network("ff02::/16")}


def _too_many(field: str, count: int, limit: int) -> Cause:
    return {
        "reason": "FieldValueTooMany",
        "message": f"Too many: {count}: must have at most {limit} items",
        "field": field,
    }


def _address_problems(address: Any, address_type: str) -> list[str]:
    """What is wrong with one address of the slice's type (nothing for an unknown type, as upstream)."""
    if address_type == "FQDN":
        text = str(address)
        problems = is_dns1123_subdomain(text)
        return (
            problems
            if problems
            else ([] if "." in text else ["should be a domain with at least two segments separated by dots"])
        )
    if address_type not in ("IPv4", "IPv6"):
        return []
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else None
    except ValueError:
        ip = None
    if ip is None or ip.version != (4 if address_type == "IPv4" else 6):
        return [f"must be a valid {address_type} address"]
    if ip.is_unspecified:
        return [f"may not be unspecified ({ip})"]
    if ip.is_loopback:
        return ["may not be in the loopback range (127.0.0.0/8, ::1/128)"]
    if ip.is_link_local:
        return ["may not be in the link-local range (169.254.0.0/16, fe80::/10)"]
    if ip in _LINK_LOCAL_MULTICAST[ip.version]:  # net.IP.IsLinkLocalMulticast
        return ["may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"]
    return []


def _validate_endpoints(slice_: Obj, address_type: str, errs: Errs) -> None:
    endpoints = slice_.get("endpoints")
    if isinstance(endpoints, list) and len(endpoints) > MAX_ENDPOINTS:
        errs.append(_too_many("endpoints", len(endpoints), MAX_ENDPOINTS))
        return
    for _, path, endpoint in _items(slice_, "endpoints", "endpoints", errs):
        addresses = endpoint.get("addresses")
        if not isinstance(addresses, list) or not addresses:
            errs.append(required(f"{path}.addresses", "must contain at least 1 address"))
        elif len(addresses) > MAX_ADDRESSES:
            errs.append(_too_many(f"{path}.addresses", len(addresses), MAX_ADDRESSES))
        else:
            for i, address in enumerate(addresses):
                errs.extend(
                    invalid(f"{path}.addresses[{i}]", address, m)
                    for m in _address_problems(address, address_type)
                )
        if endpoint.get("hostname") is not None:
            errs.extend(
                invalid(f"{path}.hostname", endpoint["hostname"], m)
                for m in is_dns1123_label(str(endpoint["hostname"]))
            )
        if endpoint.get("nodeName") is not None:
            errs.extend(
                invalid(f"{path}.nodeName", endpoint["nodeName"], m)
                for m in is_dns1123_subdomain(str(endpoint["nodeName"]))
            )
        zones = _dict(endpoint.get("hints")).get("forZones")
        if isinstance(zones, list) and len(zones) > MAX_ZONE_HINTS:
            errs.append(_too_many(f"{path}.hints.forZones", len(zones), MAX_ZONE_HINTS))


def _validate_ports(slice_: Obj, errs: Errs) -> None:
    ports = slice_.get("ports")
    if isinstance(ports, list) and len(ports) > MAX_PORTS:
        errs.append(_too_many("ports", len(ports), MAX_PORTS))
        return
    names: set[str] = set()
    for _, path, port in _items(slice_, "ports", "ports", errs):
        name = str(port.get("name") or "")
        if name:
            errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_label(name))
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            errs.append(required(f"{path}.protocol", ""))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(f"{path}.protocol", protocol, sorted(PROTOCOLS)))
        number = port.get("port")
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 65535
        ):
            errs.append(invalid(f"{path}.port", number, "must be between 0 and 65535, inclusive"))
        if port.get("appProtocol") is not None:
            errs.extend(
                invalid(f"{path}.appProtocol", port["appProtocol"], m)
                for m in is_qualified_name(str(port["appProtocol"]))
            )


def validate_endpoint_slice(slice_: Obj, errs: Errs) -> None:
    required_enum(slice_, "addressType", "addressType", ADDRESS_TYPES, errs)
    _validate_endpoints(slice_, str(slice_.get("addressType") or ""), errs)
    _validate_ports(slice_, errs)


def validate_endpoint_slice_update(new: Obj, old: Obj, errs: Errs) -> None:
    if old.get("addressType") and new.get("addressType") != old.get("addressType"):
        errs.append(invalid("addressType", new.get("addressType"), "field is immutable"))
