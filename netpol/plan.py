"""What this node's filter table must say, as data: a pure function of the policies, the pods, the namespaces and
the names of the node(s) whose pods are local.

    pod chain      one per local pod that some policy isolates, per direction (ingress, egress): jumps to the
                   chain of every policy that selects the pod; traffic none of them marked is rejected
    policy chain   one per policy and direction that selects a local pod: a rule per (rule, port) that marks
                   what the rule allows
    set            one per rule with peers: the peers' addresses (pods as /32, ipBlocks less their excepts);
                   one per named port and resolved number: the pods on which the name means that number

Only policies that select a pod of this node cost anything here; a node with no isolated pod has empty chains.
Names are hashes of the policy, pod and rule they stand for (`rules.chain_name`), never the user's strings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from netpol.policy import Policy, Port, Rule
from netpol.selection import Cluster, PodInfo

INGRESS, EGRESS = "ingress", "egress"


@dataclass(frozen=True)
class PortMatch:
    protocol: str  # a value of policy.PROTOCOLS
    ports: tuple[int, int] | None = None  # inclusive range; None: every port of the protocol
    dst_set: str | None = None  # named ports: the destinations on which the name means this number


@dataclass(frozen=True)
class PolicyRule:
    comment: str
    peer_set: str | None  # matched against the source (ingress) or destination (egress); None: any peer
    port: PortMatch | None  # None: any protocol and port


@dataclass
class PolicyChain:
    key: str  # what the name is a hash of
    direction: str
    comment: str
    rules: list[PolicyRule] = field(default_factory=list)


@dataclass
class PodChain:
    key: str
    direction: str
    pod: str  # namespace/name, for comments
    ip: ipaddress.IPv4Address
    policies: list[str] = field(default_factory=list)  # keys of policy chains, in policy order


@dataclass
class Plan:
    pod_chains: list[PodChain] = field(default_factory=list)
    policy_chains: list[PolicyChain] = field(default_factory=list)
    sets: dict[str, list[ipaddress.IPv4Network]] = field(default_factory=dict)  # set key -> members

    def isolated(self, direction: str) -> int:
        return sum(1 for c in self.pod_chains if c.direction == direction)


def _direction_rules(policy: Policy, direction: str) -> tuple[Rule, ...] | None:
    return policy.ingress if direction == INGRESS else policy.egress


def _port_matches(
    cluster: Cluster,
    policy: Policy,
    rule: Rule,
    base: str,
    port: Port,
    direction: str,
    targets: list[PodInfo],
    plan: Plan,
) -> list[PortMatch]:
    """The matches of one port entry. A named port becomes one match per number it resolves to, each limited to
    the pods on which the name means that number: the selected pods for ingress, the peers for egress."""
    if port.name is None:
        if port.number is None:
            return [PortMatch(port.protocol)]
        return [PortMatch(port.protocol, (port.number, port.end or port.number))]
    holders = targets if direction == INGRESS else cluster.rule_pods(policy, rule)
    by_number: dict[int, list[ipaddress.IPv4Network]] = {}
    for pod in holders:
        number = pod.ports.get((port.name, port.protocol))
        if number is not None:
            by_number.setdefault(number, []).append(ipaddress.IPv4Network(pod.ip))
    out = []
    for number in sorted(by_number):
        key = f"{base}/{port.protocol}/{port.name}/{number}"
        plan.sets[key] = list(ipaddress.collapse_addresses(by_number[number]))
        out.append(PortMatch(port.protocol, (number, number), key))
    return out


def _policy_chain(
    cluster: Cluster, policy: Policy, direction: str, targets: list[PodInfo], plan: Plan
) -> PolicyChain:
    chain = PolicyChain(f"{policy.key}/{direction}", direction, f"{policy.key} {direction}")
    for i, rule in enumerate(_direction_rules(policy, direction) or ()):
        base = f"{policy.key}/{direction}/{i}"
        comment = f"{policy.key} {direction} rule {i}"
        peer_set: str | None = None
        named_only = rule.ports is not None and all(p.name is not None for p in rule.ports)
        if rule.peers is not None and not (direction == EGRESS and named_only):
            # (An egress rule of named ports only is limited by the named-port sets, which hold peers only.)
            peer_set = base
            plan.sets[base] = cluster.peer_networks(policy, rule)
        if rule.ports is None:
            chain.rules.append(PolicyRule(comment, peer_set, None))
            continue
        for port in rule.ports:
            for match in _port_matches(cluster, policy, rule, base, port, direction, targets, plan):
                chain.rules.append(PolicyRule(comment, peer_set, match))
    return chain


def build(policies: Iterable[Policy], cluster: Cluster, local_nodes: Iterable[str]) -> Plan:
    """The plan for the pods of `local_nodes` (one agent may serve several nodes that share its network
    namespace, as the kubelets of the e2e tests do)."""
    local = set(local_nodes)
    plan = Plan()
    pod_chains: dict[tuple[str, str], PodChain] = {}
    for policy in sorted(policies, key=lambda p: p.key):
        targets = [p for p in cluster.selected(policy) if p.node in local]
        for direction in (INGRESS, EGRESS):
            if not targets or _direction_rules(policy, direction) is None:
                continue
            chain = _policy_chain(cluster, policy, direction, targets, plan)
            plan.policy_chains.append(chain)
            for pod in targets:
                pod_chain = pod_chains.get((pod.key, direction))
                if pod_chain is None:
                    pod_chain = PodChain(f"{pod.key}/{direction}", direction, pod.key, pod.ip)
                    pod_chains[(pod.key, direction)] = pod_chain
                pod_chain.policies.append(chain.key)
    plan.pod_chains = sorted(pod_chains.values(), key=lambda c: (c.direction != EGRESS, c.pod))
    return plan
