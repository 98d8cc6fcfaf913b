"""The iptables rules for a proxy table, as `iptables-restore --noflush` input: a pure function.

Chains are named as kube-proxy names them, so that `iptables-save` reads the same as on a Kubernetes node:

    nat   KUBE-SERVICES      one rule per cluster IP / load-balancer IP / external IP, then KUBE-NODEPORTS last
          KUBE-NODEPORTS     one rule per node port (reached for any local destination address)
          KUBE-SVC-<hash>    a service port: masquerade off-cluster clients, then one rule per ready endpoint,
                             `-m statistic --mode random --probability 1/n` so each endpoint gets an equal share
          KUBE-EXT-<hash>    external traffic (node port, LB IP): mark for masquerade, then KUBE-SVC-<hash>
          KUBE-SEP-<hash>    an endpoint: mark hairpin traffic (the endpoint reaching itself), DNAT to ip:port
          KUBE-MARK-MASQ     sets the masquerade mark; KUBE-POSTROUTING masquerades marked packets
    filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES   REJECT for services without ready endpoints
          KUBE-FORWARD       accept marked and established service traffic (FORWARD policy may be DROP)
          KUBE-FIREWALL      drop martian traffic to 127/8 that route_localnet would otherwise let in

Hashes: base32 of sha256 of "ns/name:port" + protocol (+ "ip:port" for an endpoint), first 16 characters.

Every chain this module writes is declared in the restore input, which (with --noflush) flushes and rewrites just
those chains; chains of a previous sync that are no longer wanted (`existing_chains`) are declared and deleted.
The jumps into our chains from the built-in chains (`JUMPS`) are not part of the restore input: they live in
chains we do not own, so they are checked and inserted one by one (`kube_proxy.iptables`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from apimachinery.validation import host_ipv4, is_port
from kube_proxy.servicemap import Endpoint, ProxyTable, ServicePort

log = logging.getLogger("kube_proxy.rules")

MASQ_MARK = "0x4000"

NAT_CHAINS = ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ")
FILTER_CHAINS = ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-FIREWALL")
SERVICE_CHAIN_PREFIXES = ("KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SVL-", "KUBE-XLB-")
NODEPORTS_COMMENT = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"


@dataclass(frozen=True)
class Jump:
    """A rule in a chain we do not own (a built-in chain, or Docker's DOCKER-USER) that leads to ours."""

    table: str
    chain: str
    target: str
    match: tuple[str, ...]
    comment: str

    def args(self) -> list[str]:
        return [*self.match, "-m", "comment", "--comment", self.comment, "-j", self.target]


_NEW = ("-m", "conntrack", "--ctstate", "NEW")
JUMPS: tuple[Jump, ...] = (
    Jump("filter", "INPUT", "KUBE-EXTERNAL-SERVICES", _NEW, "kubernetes externally-visible service portals"),
    Jump(
        "filter", "FORWARD", "KUBE-EXTERNAL-SERVICES", _NEW, "kubernetes externally-visible service portals"
    ),
    Jump("filter", "FORWARD", "KUBE-SERVICES", _NEW, "kubernetes service portals"),
    Jump("filter", "OUTPUT", "KUBE-SERVICES", _NEW, "kubernetes service portals"),
    Jump("filter", "FORWARD", "KUBE-FORWARD", (), "kubernetes forwarding rules"),
    Jump("filter", "INPUT", "KUBE-FIREWALL", (), "kubernetes localnet firewall"),
    Jump("filter", "OUTPUT", "KUBE-FIREWALL", (), "kubernetes localnet firewall"),
    Jump("nat", "OUTPUT", "KUBE-SERVICES", (), "kubernetes service portals"),
    Jump("nat", "PREROUTING", "KUBE-SERVICES", (), "kubernetes service portals"),
    Jump("nat", "POSTROUTING", "KUBE-POSTROUTING", (), "kubernetes postrouting rules"),
)
# Docker's FORWARD chain sends traffic between two of its bridges to DOCKER-ISOLATION-*, which drops it, and
# DOCKER-USER is the one chain Docker promises to run first and leave alone. A DNAT'd connection is service
# traffic that a rule of ours chose to send there.
DOCKER_USER_JUMP = Jump(
    "filter",
    "DOCKER-USER",
    "ACCEPT",
    ("-m", "conntrack", "--ctstate", "DNAT"),
    "kubelite service traffic (DNAT)",
)


@dataclass
class Options:
    cluster_cidr: str = (
        ""  # traffic to a cluster IP from outside it is masqueraded (kube-proxy's --cluster-cidr)
    )
    masquerade_all: bool = False
    localhost_nodeports: bool = True  # node ports on 127.0.0.1 (needs net.ipv4.conf.all.route_localnet=1)
    masq_mark: str = MASQ_MARK


@dataclass
class Rules:
    """The restore input, split by table, and the service chains it leaves in place."""

    filter: list[str] = field(default_factory=list)
    nat: list[str] = field(default_factory=list)
    nat_chains: set[str] = field(default_factory=set)
    deleted_chains: set[str] = field(default_factory=set)

    def text(self) -> str:
        return (
            "*filter\n"
            + "".join(s + "\n" for s in self.filter)
            + "*nat\n"
            + "".join(s + "\n" for s in self.nat)
        )

    @property
    def rule_count(self) -> dict[str, int]:
        return {
            "filter": sum(1 for line in self.filter if line.startswith("-A ")),
            "nat": sum(1 for line in self.nat if line.startswith("-A ")),
        }


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def svc_chain(sp: ServicePort) -> str:
    return "KUBE-SVC-" + _hash(sp.name_string + sp.protocol.lower())


def ext_chain(sp: ServicePort) -> str:
    return "KUBE-EXT-" + _hash(sp.name_string + sp.protocol.lower())


def sep_chain(sp: ServicePort, ep: Endpoint) -> str:
    return "KUBE-SEP-" + _hash(sp.name_string + sp.protocol.lower() + str(ep))


def is_service_chain(name: str) -> bool:
    return name.startswith(SERVICE_CHAIN_PREFIXES)


def probability(n: int) -> str:
    """The share of the first of `n` remaining endpoints, formatted as kube-proxy formats it."""
    return f"{1.0 / n:0.10f}"


_NAME_STRING = re.compile(r"[a-z0-9][-a-z0-9]*/[a-z0-9][-a-z0-9]*(:[a-z0-9][-a-z0-9]*)?")


def safe_to_write(sp: ServicePort, endpoints: Iterable[Endpoint]) -> bool:
    """Whether every value of `sp` and `endpoints` that goes into a rule is a plain name, IPv4 address or port."""
    ips = (sp.cluster_ip, *sp.load_balancer_ips, *sp.external_ips, *(ep.ip for ep in endpoints))
    ports = (sp.port, *(ep.port for ep in endpoints)) + ((sp.node_port,) if sp.node_port else ())
    return (
        bool(_NAME_STRING.fullmatch(sp.name_string))
        and sp.protocol in ("TCP", "UDP", "SCTP")
        and all(host_ipv4(ip) == ip for ip in ips)
        and all(is_port(p) for p in ports)
        and isinstance(sp.affinity_seconds, int)
    )


def _q(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def _chain_line(name: str) -> str:
    return f":{name} - [0:0]"


def build(table: ProxyTable, options: Options, existing_chains: Iterable[str] = ()) -> Rules:
    """The rules for `table`. `existing_chains` are the nat chains present now; service chains among them that
    the new rules do not use are deleted."""
    nat_rules, filter_rules = _base_rules(options)
    nat_service_chains: list[str] = []
    for sp, endpoints in table:
        if not safe_to_write(sp, endpoints):
            # servicemap checked all of this; a table built some other way still cannot write a bad rule
            log.warning("service port not programmed: unsafe value", extra={"service": repr(sp)[:300]})
        elif not endpoints:
            filter_rules += _reject_rules(sp)
        else:
            nat_rules += _entry_rules(sp)
            chains, rules = _service_chains(sp, endpoints, options)
            nat_service_chains += chains
            nat_rules += rules
    local = "-m addrtype --dst-type LOCAL" + ("" if options.localhost_nodeports else " ! -d 127.0.0.0/8")
    nat_rules.append(
        f"-A KUBE-SERVICES -m comment --comment {_q(NODEPORTS_COMMENT)} {local} -j KUBE-NODEPORTS"
    )
    filter_rules += _forward_rules(options.masq_mark)
    return _assemble(nat_rules, filter_rules, nat_service_chains, existing_chains)


def _base_rules(options: Options) -> tuple[list[str], list[str]]:
    """(nat, filter) rules that do not depend on services: masquerading marked packets, the localnet firewall."""
    mark = options.masq_mark
    nat_rules = [
        f"-A KUBE-POSTROUTING -m mark ! --mark {mark}/{mark} -j RETURN",
        # Clear the mark so a packet that goes round again is not masqueraded twice.
        f"-A KUBE-POSTROUTING -j MARK --xor-mark {mark}",
        f"-A KUBE-POSTROUTING -m comment --comment {_q('kubernetes service traffic requiring SNAT')}"
        " -j MASQUERADE --random-fully",
        f"-A KUBE-MARK-MASQ -j MARK --or-mark {mark}",
    ]
    filter_rules = []
    if options.localhost_nodeports:
        # route_localnet lets packets to 127/8 arrive from anywhere; only our DNAT'd ones may.
        filter_rules.append(
            f"-A KUBE-FIREWALL -m comment --comment {_q('block incoming localnet connections')}"
            " -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
        )
    return nat_rules, filter_rules


def _match(sp: ServicePort) -> str:
    proto = sp.protocol.lower()
    return f"-m {proto} -p {proto}"


def _reject_rules(sp: ServicePort) -> list[str]:
    """filter rules that refuse connections to a service port without ready endpoints, on every address."""
    comment, pmatch = _q(f"{sp.name_string} has no endpoints"), _match(sp)
    rules = [
        f"-A KUBE-SERVICES -m comment --comment {comment} {pmatch} -d {sp.cluster_ip}/32"
        f" --dport {sp.port} -j REJECT"
    ]
    for ip in (*sp.external_ips, *sp.load_balancer_ips):
        rules.append(
            f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {comment} {pmatch} -d {ip}/32"
            f" --dport {sp.port} -j REJECT"
        )
    if sp.node_port:
        rules.append(
            f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {comment} -m addrtype --dst-type LOCAL"
            f" {pmatch} --dport {sp.node_port} -j REJECT"
        )
    return rules


def _cluster_match(sp: ServicePort) -> str:
    return (
        f"-m comment --comment {_q(sp.name_string + ' cluster IP')} {_match(sp)} -d {sp.cluster_ip}/32"
        f" --dport {sp.port}"
    )


def _entry_rules(sp: ServicePort) -> list[str]:
    """nat rules that send a service port's addresses (cluster, external, load-balancer IPs; the node port) to
    its chains."""
    name, pmatch, svc, ext = sp.name_string, _match(sp), svc_chain(sp), ext_chain(sp)
    rules = [f"-A KUBE-SERVICES {_cluster_match(sp)} -j {svc}"]
    for ip in sp.external_ips:
        rules.append(
            f"-A KUBE-SERVICES -m comment --comment {_q(name + ' external IP')} {pmatch} -d {ip}/32"
            f" --dport {sp.port} -j {ext}"
        )
    for ip in sp.load_balancer_ips:
        rules.append(
            f"-A KUBE-SERVICES -m comment --comment {_q(name + ' loadbalancer IP')} {pmatch} -d {ip}/32"
            f" --dport {sp.port} -j {ext}"
        )
    if sp.node_port:
        rules.append(
            f"-A KUBE-NODEPORTS -m comment --comment {_q(name)} {pmatch} --dport {sp.node_port} -j {ext}"
        )
    return rules


def _service_chains(
    sp: ServicePort, endpoints: list[Endpoint], options: Options
) -> tuple[list[str], list[str]]:
    """(chains, rules) of a service port with ready endpoints: KUBE-SVC (masquerade, then spread over the
    endpoints), KUBE-EXT for external traffic, and one KUBE-SEP per endpoint."""
    name, svc, ext = sp.name_string, svc_chain(sp), ext_chain(sp)
    chains, rules = [svc], []
    if options.masquerade_all:
        rules.append(f"-A {svc} {_cluster_match(sp)} -j KUBE-MARK-MASQ")
    elif options.cluster_cidr:
        # Off-cluster clients (the host itself, another machine routing the service CIDR here) are
        # masqueraded so the reply comes back through this node and is un-DNAT'd.
        rules.append(f"-A {svc} {_cluster_match(sp)} ! -s {options.cluster_cidr} -j KUBE-MARK-MASQ")
    if sp.node_port or sp.load_balancer_ips or sp.external_ips:
        chains.append(ext)
        rules.append(
            f"-A {ext} -m comment --comment {_q(f'masquerade traffic for {name} external destinations')}"
            " -j KUBE-MARK-MASQ"
        )
        rules.append(f"-A {ext} -j {svc}")
    seps = [(ep, sep_chain(sp, ep)) for ep in endpoints]
    rules += _spread_rules(sp, svc, seps)
    for ep, sep in seps:
        chains.append(sep)
        # Hairpin: an endpoint reaching itself through the service must see the reply come from the
        # service address, so its own packets are masqueraded (the reply then goes via the host).
        rules.append(f"-A {sep} -m comment --comment {_q(name)} -s {ep.ip}/32 -j KUBE-MARK-MASQ")
        recent = f" -m recent --name {sep} --set" if sp.affinity_seconds else ""
        rules.append(
            f"-A {sep} -m comment --comment {_q(name)}{recent} {_match(sp)} -j DNAT --to-destination {ep}"
        )
    return chains, rules


def _spread_rules(sp: ServicePort, svc: str, seps: list[tuple[Endpoint, str]]) -> list[str]:
    """The KUBE-SVC jumps to the endpoint chains: sticky ones first (session affinity), then an equal share each."""
    name, rules = sp.name_string, []
    if sp.affinity_seconds:
        for ep, sep in seps:
            rules.append(
                f"-A {svc} -m comment --comment {_q(f'{name} -> {ep}')} -m recent --name {sep} --rcheck"
                f" --seconds {sp.affinity_seconds} --reap -j {sep}"
            )
    n = len(seps)
    for i, (ep, sep) in enumerate(seps):
        stat = f" -m statistic --mode random --probability {probability(n - i)}" if i < n - 1 else ""
        rules.append(f"-A {svc} -m comment --comment {_q(f'{name} -> {ep}')}{stat} -j {sep}")
    return rules


def _forward_rules(mark: str) -> list[str]:
    return [
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        f"-A KUBE-FORWARD -m comment --comment {_q('kubernetes forwarding rules')} -m mark --mark {mark}/{mark}"
        " -j ACCEPT",
        f"-A KUBE-FORWARD -m comment --comment {_q('kubernetes forwarding conntrack rule')}"
        " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]


def _assemble(
    nat_rules: list[str],
    filter_rules: list[str],
    nat_service_chains: list[str],
    existing_chains: Iterable[str],
) -> Rules:
    """The restore input: every chain declared, then the rules, then the stale service chains deleted."""
    active = set(nat_service_chains)
    stale = sorted(c for c in set(existing_chains) - active if is_service_chain(c))
    return Rules(
        filter=[*map(_chain_line, FILTER_CHAINS), *filter_rules, "COMMIT"],
        nat=[
            *map(_chain_line, NAT_CHAINS),
            *map(_chain_line, nat_service_chains),
            *map(_chain_line, stale),
            *nat_rules,
            *(f"-X {c}" for c in stale),
            "COMMIT",
        ],
        nat_chains=active,
        deleted_chains=set(stale),
    )


def cleanup_text(nat_chains: Iterable[str], filter_chains: Iterable[str]) -> str:
    """Restore input that flushes and deletes the given chains (the jumps into them must be gone first)."""
    nat = sorted(set(nat_chains))
    flt = sorted(set(filter_chains))
    lines = ["*filter", *map(_chain_line, flt), *(f"-X {c}" for c in flt), "COMMIT"]
    lines += ["*nat", *map(_chain_line, nat), *(f"-X {c}" for c in nat), "COMMIT"]
    return "\n".join(lines) + "\n"


def owned_nat_chain(name: str) -> bool:
    return name in NAT_CHAINS or is_service_chain(name)


def owned_filter_chain(name: str) -> bool:
    return name in FILTER_CHAINS
