"""Cluster DNS facts shared by the DNS component, the kubelet and `kctl up`; and resolv.conf, read and written.

    CLUSTER_DOMAIN, DNS_SERVICE, DNS_NAMESPACE    the defaults of a kubeadm cluster
    cluster_dns_ip(service_cidr)                  the kube-dns Service's address: the 10th of the service range
    ResolvConf / parse_resolv_conf / render       the three settings a resolver reads (nameserver, search, options)

Pure: nothing here reads a file but `read_resolv_conf`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

CLUSTER_DOMAIN = "cluster.local"
DNS_SERVICE = "kube-dns"
DNS_NAMESPACE = "kube-system"
DNS_LABEL = {"k8s-app": "kube-dns"}
# As kubeadm: the 10th address of the service range (10.96.0.10 for 10.96.0.0/12).
DNS_SERVICE_OFFSET = 10

# glibc's limits (resolv.h) and Kubernetes' (pkg/apis/core/validation): what a pod's resolv.conf may hold.
MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_CHARS = 2048

_HOSTNAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?", re.IGNORECASE)
_OPTION = re.compile(r"[A-Za-z0-9_-]+(:[A-Za-z0-9_.-]*)?")


def cluster_dns_ip(service_cidr: str) -> str:
    """The kube-dns ClusterIP for a service range: its 10th address."""
    net = ipaddress.ip_network(service_cidr, strict=False)
    if net.num_addresses <= DNS_SERVICE_OFFSET + 1:
        raise ValueError(f"service range {service_cidr} is too small for the DNS service address")
    return str(net.network_address + DNS_SERVICE_OFFSET)


@dataclass
class ResolvConf:
    """The settings of one resolv.conf. Values are checked where they are parsed or rendered (`valid_*`)."""

    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)  # "ndots:5", "edns0", ...


def is_ip_address(text: str) -> bool:
    """An IPv4 or IPv6 address: what a nameserver line, and a hosts-file entry, must name."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def valid_search(text: str) -> bool:
    return len(text) <= 253 and _HOSTNAME.fullmatch(text) is not None


def valid_option(text: str) -> bool:
    return _OPTION.fullmatch(text) is not None


def parse_resolv_conf(text: str) -> ResolvConf:
    """The nameservers, search list and options of resolv.conf text, as glibc reads them: the last `search` or
    `domain` line wins, `options` lines add up; comments and anything unparseable are skipped."""
    out = ResolvConf()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0]
        words = line.split()
        if not words:
            continue
        keyword, args = words[0], words[1:]
        if keyword == "nameserver" and args and is_ip_address(args[0]):
            out.nameservers.append(args[0])
        elif keyword in ("search", "domain"):
            out.searches = [s.rstrip(".") for s in args if valid_search(s)]
        elif keyword == "options":
            out.options += [o for o in args if valid_option(o)]
    return out


def read_resolv_conf(path: str | Path) -> ResolvConf:
    """The parsed file; an empty config when `path` is "" or cannot be read (no resolvers to forward to)."""
    if not path:
        return ResolvConf()
    try:
        return parse_resolv_conf(Path(path).read_text(errors="replace"))
    except OSError:
        return ResolvConf()


def render(conf: ResolvConf) -> str:
    """resolv.conf text. Every value is checked again here, where it becomes a line of a file a container reads: a
    value that does not pass is left out, never written (a newline in one would add a line of its own)."""
    lines = []
    searches = [s for s in conf.searches if valid_search(s)]
    if searches:
        lines.append("search " + " ".join(searches))
    lines += [f"nameserver {ns}" for ns in conf.nameservers if is_ip_address(ns)]
    options = [o for o in conf.options if valid_option(o)]
    if options:
        lines.append("options " + " ".join(options))
    return "".join(line + "\n" for line in lines)
