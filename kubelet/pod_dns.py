"""A pod's names and resolver: its hostname, /etc/hosts and /etc/resolv.conf, as the kubelet makes them.

    pod_hostname(pod, domain)      hostname and domain (spec.hostname / subdomain, else the pod's name)
    pod_resolv_conf(...)           the resolver config for the pod's dnsPolicy, dnsConfig merged, within limits
    hosts_file(...)                the Kubernetes-managed /etc/hosts
    write_pod_files(...)           both files under the pod's directory, and the read-only binds that put them in
                                   each container (over what Docker would have written)

Pure but for `write_pod_files`. Values from the pod reach a file here, so each is checked again as it is written
(the apiserver validated them first): an address must parse, a name must be a DNS name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apimachinery.dnsconfig import (
    MAX_NAMESERVERS,
    MAX_SEARCH_CHARS,
    MAX_SEARCH_PATHS,
    ResolvConf,
    is_ip_address,
    render,
    valid_option,
    valid_search,
)

Obj = dict[str, Any]
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HOSTNAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DEFAULT_OPTIONS = ["ndots:5"]
MAX_HOSTNAME = 63
MAX_FQDN = 64


class PodDNSError(Exception):
    """The pod's names cannot be made (a FQDN hostname that is too long)."""


@dataclass
class DNSResult:
    conf: ResolvConf | None  # None: no resolv.conf of ours (the container keeps its image's)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (event reason, message)


def pod_hostname(pod: Obj, cluster_domain: str) -> tuple[str, str]:
    """(hostname, domain): spec.hostname or the pod's name cut to 63 characters; the domain
    `<subdomain>.<namespace>.svc.<cluster domain>` when spec.subdomain is set, else ""."""
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    hostname = str(spec.get("hostname") or "")
    if not _LABEL.fullmatch(hostname):
        hostname = str(md.get("name") or "")
    if len(hostname) > MAX_HOSTNAME:
        hostname = hostname[:MAX_HOSTNAME].rstrip("-.")
    subdomain = str(spec.get("subdomain") or "")
    domain = ""
    if _LABEL.fullmatch(subdomain):
        domain = f"{subdomain}.{md.get('namespace') or 'default'}.svc.{cluster_domain}"
    return hostname, domain


def container_hostname(pod: Obj, cluster_domain: str) -> str:
    """The name the sandbox (and so every container of the pod) gets: the hostname, or with setHostnameAsFQDN the
    FQDN, which may not pass 64 characters."""
    hostname, domain = pod_hostname(pod, cluster_domain)
    if not (pod.get("spec") or {}).get("setHostnameAsFQDN") or not domain:
        return hostname
    fqdn = f"{hostname}.{domain}"
    if len(fqdn) > MAX_FQDN:
        raise PodDNSError(
            f"failed to construct FQDN from pod hostname and cluster domain, FQDN {fqdn} is too long "
            f"({MAX_FQDN} characters is the max, {len(fqdn)} characters requested)"
        )
    return fqdn


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(base: list[str], extra: list[Obj]) -> list[str]:
    """Options by name; the pod's override the base's (Kubernetes' mergeDNSOptions)."""
    merged: dict[str, str] = {}
    for opt in base:
        name, _, value = opt.partition(":")
        merged[name] = value
    for item in extra:
        if item.get("name"):
            merged[str(item["name"])] = str(item.get("value") or "")
    return [f"{k}:{v}" if v else k for k, v in merged.items()]


def pod_resolv_conf(pod: Obj, *, cluster_dns: list[str], cluster_domain: str, host: ResolvConf) -> DNSResult:
    """The pod's resolver, as the kubelet's GetPodDNS: ClusterFirst -> the cluster DNS with the cluster's search
    path before the host's and ndots:5 (the host's resolvers, with a MissingClusterDNS warning, when the kubelet
    has no cluster DNS); Default, or ClusterFirst on the host network -> the host's; ClusterFirstWithHostNet -> the
    cluster's; None -> only dnsConfig. Then spec.dnsConfig is merged in and the result cut to the resolver's limits.
    """
    spec = pod.get("spec") or {}
    md = pod.get("metadata") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_network = bool(spec.get("hostNetwork"))
    result = DNSResult(ResolvConf())
    cluster = policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network)
    if cluster and not cluster_dns:
        who = f"{md.get('name')}_{md.get('namespace')}({md.get('uid')})"
        result.warnings.append(("MissingClusterDNS", f'pod: "{who}". kubelet does not have ClusterDNS IP configured '
                                f'and cannot create Pod using "{policy}" policy. Falling back to "Default" policy.'))  # fmt: skip
        cluster = False
    conf = ResolvConf()
    if cluster:
        ns = md.get("namespace") or "default"
        conf.nameservers = list(cluster_dns)
        conf.searches = _unique([f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain,
                                 *host.searches])  # fmt: skip
        conf.options = list(DEFAULT_OPTIONS)
    elif policy != "None":
        conf = ResolvConf(list(host.nameservers), list(host.searches), list(host.options))
    extra = spec.get("dnsConfig") or {}
    if extra:
        conf.nameservers = _unique(conf.nameservers + [str(n) for n in extra.get("nameservers") or []])
        conf.searches = _unique([str(s).rstrip(".") for s in extra.get("searches") or []] + conf.searches)
        conf.options = _merge_options(
            conf.options, [o for o in extra.get("options") or [] if isinstance(o, dict)]
        )
    conf.nameservers = [n for n in conf.nameservers if is_ip_address(n)]
    conf.searches = [s for s in conf.searches if valid_search(s)]
    conf.options = [o for o in conf.options if valid_option(o)]
    result.conf = _fit(conf, result.warnings)
    return result


def _fit(conf: ResolvConf, warnings: list[tuple[str, str]]) -> ResolvConf:
    if len(conf.nameservers) > MAX_NAMESERVERS:
        conf.nameservers = conf.nameservers[:MAX_NAMESERVERS]
        warnings.append(("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been omitted, "
                         f"the applied nameserver line is: {' '.join(conf.nameservers)}"))  # fmt: skip
    searches = conf.searches
    if len(searches) > MAX_SEARCH_PATHS or len(" ".join(searches)) > MAX_SEARCH_CHARS:
        kept: list[str] = []
        for s in searches[:MAX_SEARCH_PATHS]:
            if len(" ".join([*kept, s])) > MAX_SEARCH_CHARS:
                break
            kept.append(s)
        conf.searches = kept
        warnings.append(("DNSConfigForming", "Search Line limits were exceeded, some search paths have been "
                         f"omitted, the applied search line is: {' '.join(kept)}"))  # fmt: skip
    return conf


def hosts_file(pod: Obj, pod_ip: str, hostname: str, domain: str) -> str:
    """The Kubernetes-managed /etc/hosts: localhost, the pod's own name (and FQDN), then spec.hostAliases."""
    lines = [
        "# Kubernetes-managed hosts file.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    if is_ip_address(pod_ip) and _LABEL.fullmatch(hostname):
        fqdn = f"{hostname}.{domain}" if domain and _HOSTNAME.fullmatch(domain) else ""
        lines.append("\t".join([pod_ip, fqdn, hostname] if fqdn else [pod_ip, hostname]))
    aliases = [a for a in (pod.get("spec") or {}).get("hostAliases") or [] if isinstance(a, dict)]
    if aliases:
        lines += ["", "# Entries added by HostAliases."]
        for alias in aliases:
            names = [str(h) for h in alias.get("hostnames") or [] if _HOSTNAME.fullmatch(str(h))]
            if is_ip_address(str(alias.get("ip") or "")) and names:
                lines.append("\t".join([str(alias["ip"]), *names]))
    return "".join(line + "\n" for line in lines)


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass  # not there yet
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.replace(path)
    return True


def write_hosts(pod_dir: Path, pod: Obj, pod_ip: str, cluster_domain: str) -> Path:
    """Write `<pod dir>/etc-hosts` (when it changed: a new pod IP); its path."""
    hostname, domain = pod_hostname(pod, cluster_domain)
    hosts = pod_dir / "etc-hosts"
    _write_if_changed(hosts, hosts_file(pod, pod_ip, hostname, domain))
    return hosts


def write_pod_files(
    pod_dir: Path,
    pod: Obj,
    container: Obj,
    *,
    pod_ip: str,
    cluster_dns: list[str],
    cluster_domain: str,
    host: ResolvConf,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Write `<pod dir>/etc-hosts` and `<pod dir>/resolv.conf`; return the (host file, container path) pairs to
    mount read-only into `container` (none for a path the container mounts a volume on), and the warnings of a new
    resolv.conf."""
    mounted = {str(m.get("mountPath") or "").rstrip("/") for m in container.get("volumeMounts") or []}
    binds: list[tuple[str, str]] = []
    hosts = write_hosts(pod_dir, pod, pod_ip, cluster_domain)
    if "/etc/hosts" not in mounted:
        binds.append((str(hosts), "/etc/hosts"))
    dns = pod_resolv_conf(pod, cluster_dns=cluster_dns, cluster_domain=cluster_domain, host=host)
    warnings: list[tuple[str, str]] = []
    if dns.conf is not None:
        resolv = pod_dir / "resolv.conf"
        if _write_if_changed(resolv, render(dns.conf)):
            warnings = dns.warnings
        if "/etc/resolv.conf" not in mounted:
            binds.append((str(resolv), "/etc/resolv.conf"))
    return binds, warnings
