"""Addresses, networks and ports: one set of checks for the API server and for the host components.

The API server refuses bad values with these messages (Kubernetes' wording); kube-proxy, the kubelet and the
apiserver's log proxy call the same functions again right where a value becomes part of a command line, a route
or a URL, and skip what fails. Nothing here does I/O.

Stricter than Go's `net.ParseIP` in three ways, all of which keep a value from meaning two things:
* no IPv6 zone ("fe80::1%eth0"): a zone is free text and reached `ip -batch` as extra commands;
* no leading zeros ("010.1.2.3"): Go reads 10.1.2.3, iptables and inet_aton read octal 8.1.2.3 (CVE-2021-29923);
* no IPv4-mapped IPv6 ("::ffff:1.2.3.4"): the same host written as an IPv6 address breaks IPv4 iptables input.
Kubernetes 1.33+ refuses the last two too (StrictIPCIDRValidation).
"""

from __future__ import annotations

import ipaddress
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MSG_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
MSG_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
MSG_PORT = "must be between 1 and 65535, inclusive"
MSG_MAPPED = "must not be an IPv4-mapped IPv6 address"


def parse_ip(value: Any) -> IPAddress | None:
    """The address `value` names, or None: a str in plain dotted-quad or RFC 4291 form, nothing else."""
    if not isinstance(value, str) or not value or "%" in value or value != value.strip():
        return None
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped is not None or ip.scope_id):
        return None
    return ip


def parse_cidr(value: Any) -> IPNetwork | None:
    """The network `value` names ("10.244.1.0/24"; host bits set are allowed and masked, as Kubernetes allows),
    or None. The prefix length is required."""
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    address, _, length = value.partition("/")
    if parse_ip(address) is None or not length.isdigit() or length != str(int(length)):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def ip_errors(value: Any) -> list[str]:
    """Kubernetes' IsValidIP: [] or the message for an invalid address."""
    if isinstance(value, str) and "%" not in value:
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return [MSG_IP]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return [MSG_MAPPED]
    return [] if parse_ip(value) is not None else [MSG_IP]


def cidr_errors(value: Any) -> list[str]:
    return [] if parse_cidr(value) is not None else [MSG_CIDR]


def non_special_ip_errors(value: Any) -> list[str]:
    """Kubernetes' ValidateNonSpecialIP (endpoints, external IPs): not unspecified, loopback or link-local."""
    ip = parse_ip(value)
    if ip is None:
        return ip_errors(value) or [MSG_IP]
    errs = []
    if ip.is_unspecified:
        errs.append(f"may not be unspecified ({value})")
    if ip.is_loopback:
        errs.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if ip.is_link_local:
        errs.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    if ip.is_multicast and ip in _LINK_LOCAL_MULTICAST[ip.version]:
        errs.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return errs


_LINK_LOCAL_MULTICAST = {
    4: ipaddress.ip_network("224.0.0.0/24"),
    6: ipaddress.ip_network("ff02::/16"),
}


def is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


# --- for the host components: a value that passes is safe to put on a command line -----------------------------


def host_ipv4(value: Any) -> str | None:
    """The canonical dotted-quad form of an IPv4 address, or None (IPv6, malformed, or with anything extra)."""
    ip = parse_ip(value)
    return str(ip) if isinstance(ip, ipaddress.IPv4Address) else None


def host_ipv4_network(value: Any) -> ipaddress.IPv4Network | None:
    """An IPv4 network (host bits masked), or None."""
    net = parse_cidr(value)
    return net if isinstance(net, ipaddress.IPv4Network) else None


def unicast_ipv4(value: Any) -> str | None:
    """An IPv4 address a packet may be routed to (a gateway, an endpoint): not unspecified, multicast, reserved
    (240/4, broadcast) or loopback. Canonical form, or None."""
    text = host_ipv4(value)
    if text is None:
        return None
    ip = ipaddress.IPv4Address(text)
    if ip.is_unspecified or ip.is_multicast or ip.is_loopback or ip.is_reserved:
        return None
    return text
