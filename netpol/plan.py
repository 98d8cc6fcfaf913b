"""What this node's filter table must say, as data: a pure function of the policies, the pods, the namespaces and
the names of the node(s) whose pods are local.

Every policy that selects a local pod is compiled into that pod's allow lists, one per direction, which become its
pod chain and its sets (see `rules`). A packet of a new connection then costs a few set lookups, whatever the
number of policies: the union of all rules of all policies that select the pod is in the pod's sets, as
(peer, protocol, port) pairs and peers allowed on any port, the way Cilium keeps one policy map per endpoint.
(kube-router's chain per policy, which a new connection walks policy by policy, was measured first: with 500
policies selecting one pod each new connection to it took 2.5 times as long; bench/netpol.py.)

    allow_all      a rule with neither peers nor ports: everything is allowed
    any_port       peers allowed on every port of every protocol (rules without ports)
    protocol_any   peers allowed on every port of one protocol (a port entry with a protocol only)
    pairs          (peer network, protocol, port): rules with ports, numbered ones and named ones resolved on
                   the pod (ingress: the selected pod's own port; egress: each peer pod's port of that name);
                   ranges of up to WIDE_RANGE ports are spelled out here
    ranges         wider port ranges, each with its peers (None: any peer): one rule each

"Any peer" is the two halves of the IPv4 space (ipset's net types cannot hold a /0).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from netpol.policy import Policy, Port, Rule
from netpol.selection import Cluster, PodInfo

INGRESS, EGRESS = "ingress", "egress"
WIDE_RANGE = 64  # port ranges wider than this get a rule of their own instead of one set entry per port
ANY = (ipaddress.IPv4Network("0.0.0.0/1"), ipaddress.IPv4Network("128.0.0.0/1"))

Net = ipaddress.IPv4Network


@dataclass(frozen=True)
class PortRange:
    protocol: str
    low: int
    high: int
    peers: tuple[Net, ...] | None  # None: any peer


@dataclass
class PodRules:
    """Everything the policies selecting one local pod allow in one direction."""

    key: str  # what the chain's and sets' names are hashes of
    direction: str
    pod: str  # namespace/name, for comments
    ip: ipaddress.IPv4Address
    policies: list[str] = field(default_factory=list)
    allow_all: bool = False
    any_port: set[Net] = field(default_factory=set)
    protocol_any: dict[str, set[Net]] = field(default_factory=dict)
    pairs: set[tuple[Net, str, int]] = field(default_factory=set)
    ranges: list[PortRange] = field(default_factory=list)


@dataclass
class Plan:
    pods: list[PodRules] = field(default_factory=list)
    policies: int = 0  # policies that select a local pod

    def isolated(self, direction: str) -> int:
        return sum(1 for p in self.pods if p.direction == direction)


def _direction_rules(policy: Policy, direction: str) -> tuple[Rule, ...] | None:
    return policy.ingress if direction == INGRESS else policy.egress


def _or_any(peers: list[Net] | None) -> list[Net] | tuple[Net, ...]:
    """The peers a rule names, or anyone when it names none. (Not `peers or ANY`: peers that select nobody
    yet are an empty list, and must allow nobody.)"""
    return ANY if peers is None else peers


@dataclass
class _Compiled:
    """One rule with what does not depend on the selected pod worked out once."""

    rule: Rule
    peers: list[Net] | None  # None: any peer
    egress_named: dict[Port, set[tuple[Net, str, int]]]  # egress named ports: each peer pod's own number


def _compile(cluster: Cluster, policy: Policy, rule: Rule, direction: str) -> _Compiled:
    peers = None if rule.peers is None else cluster.peer_networks(policy, rule)
    named: dict[Port, set[tuple[Net, str, int]]] = {}
    if direction == EGRESS:
        for port in rule.ports or ():
            if port.name is not None:
                holders = cluster.rule_pods(policy, rule)
                named[port] = {
                    (Net(pod.ip), port.protocol, number)
                    for pod in holders
                    if (number := pod.ports.get((port.name, port.protocol))) is not None
                }
    return _Compiled(rule, peers, named)


def add_rule(into: PodRules, compiled: _Compiled, target: PodInfo) -> None:
    """Add what one rule allows to a pod's lists."""
    rule, peers = compiled.rule, compiled.peers
    if rule.ports is None:
        if peers is None:
            into.allow_all = True
        else:
            into.any_port.update(peers)
        return
    for port in rule.ports:
        if port.name is not None:
            if port in compiled.egress_named:
                into.pairs |= compiled.egress_named[port]
            elif (number := target.ports.get((port.name, port.protocol))) is not None:
                into.pairs |= {(net, port.protocol, number) for net in _or_any(peers)}
        elif port.number is None:
            into.protocol_any.setdefault(port.protocol, set()).update(_or_any(peers))
        else:
            low, high = port.number, port.end or port.number
            if high - low + 1 > WIDE_RANGE:
                into.ranges.append(
                    PortRange(port.protocol, low, high, None if peers is None else tuple(peers))
                )
            else:
                into.pairs |= {
                    (net, port.protocol, n) for net in _or_any(peers) for n in range(low, high + 1)
                }


def build(policies: Iterable[Policy], cluster: Cluster, local_nodes: Iterable[str]) -> Plan:
    """The plan for the pods of `local_nodes` (one agent may serve several nodes that share its network
    namespace, as the kubelets of the e2e tests do)."""
    local = set(local_nodes)
    plan = Plan()
    by_pod: dict[tuple[str, str], PodRules] = {}
    for policy in sorted(policies, key=lambda p: p.key):
        targets = [p for p in cluster.selected(policy) if p.node in local]
        if targets:
            plan.policies += 1
        for direction in (INGRESS, EGRESS):
            rules = _direction_rules(policy, direction)
            if rules is None or not targets:
                continue
            compiled = [_compile(cluster, policy, rule, direction) for rule in rules]
            for pod in targets:
                into = by_pod.get((pod.key, direction))
                if into is None:
                    into = PodRules(f"{pod.key}/{direction}", direction, pod.key, pod.ip)
                    by_pod[(pod.key, direction)] = into
                into.policies.append(policy.key)
                for c in compiled:
                    add_rule(into, c, pod)
    plan.pods = sorted(by_pod.values(), key=lambda r: (r.direction != EGRESS, r.pod))
    return plan
