"""Who a policy is about and whom it lets in or out: pods and namespaces read into what the rules need.

Pods count here when they have an IPv4 address and their own network namespace: hostNetwork pods are not subject
to policies (as upstream) and not peers either (their address is the node's), and finished pods (Succeeded or
Failed) have given their address back. A pod's address is read with `ipaddress`, so nothing but a plain IPv4
address ever reaches an ipset or a rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery import labels
from netpol.policy import PROTOCOLS, Peer, Policy, Rule

Obj = dict[str, Any]
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: ipaddress.IPv4Address
    node: str
    ports: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (name, protocol) -> containerPort

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _ipv4(value: Any) -> ipaddress.IPv4Address | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


def _named_ports(spec: Obj) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for port in (container.get("ports") if isinstance(container, dict) else None) or []:
            if not isinstance(port, dict) or not isinstance(port.get("name"), str):
                continue
            number, protocol = port.get("containerPort"), PROTOCOLS.get(port.get("protocol") or "TCP")
            if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= 65535 and protocol:
                found.setdefault((port["name"], protocol), number)  # the first container that names it
    return found


def pod_info(pod: Obj) -> PodInfo | None:
    """What the rules need of a pod, or None when policies do not concern it."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    candidates = [status.get("podIP"), *((p or {}).get("ip") for p in status.get("podIPs") or [])]
    ip = next((a for a in map(_ipv4, candidates) if a is not None), None)
    pod_labels = meta.get("labels") or {}
    if ip is None or not isinstance(pod_labels, dict):
        return None
    return PodInfo(
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        pod_labels,
        ip,
        str(spec.get("nodeName") or ""),
        _named_ports(spec),
    )


class Cluster:
    """The pods and namespaces of one sync, indexed for the questions the plan asks."""

    def __init__(self, pods: Iterable[Obj], namespaces: Iterable[Obj]) -> None:
        self.pods_by_namespace: dict[str, list[PodInfo]] = {}
        for pod in pods:
            info = pod_info(pod)
            if info is not None:
                self.pods_by_namespace.setdefault(info.namespace, []).append(info)
        self.namespace_labels: dict[str, Mapping[str, str]] = {}
        for ns in namespaces:
            meta = ns.get("metadata") or {}
            name = meta.get("name")
            if isinstance(name, str):
                # The label kube-apiserver puts on every namespace, so selectors can name one (1.21+).
                self.namespace_labels[name] = {**(meta.get("labels") or {}), NAMESPACE_NAME_LABEL: name}

    def all_pods(self) -> list[PodInfo]:
        return [p for pods in self.pods_by_namespace.values() for p in pods]

    def selected(self, policy: Policy) -> list[PodInfo]:
        """The pods a policy applies to: of its namespace, matching its pod selector."""
        return [
            p for p in self.pods_by_namespace.get(policy.namespace, ()) if policy.selector.matches(p.labels)
        ]

    def _namespaces(self, policy: Policy, selector: labels.Selector | None) -> list[str]:
        if selector is None:
            return [policy.namespace]
        return [ns for ns, ns_labels in self.namespace_labels.items() if selector.matches(ns_labels)]

    def peer_pods(self, policy: Policy, peer: Peer) -> list[PodInfo]:
        """The pods a selector peer names (an ipBlock names none)."""
        if peer.block is not None:
            return []
        out = []
        for ns in self._namespaces(policy, peer.namespaces):
            out += [
                p
                for p in self.pods_by_namespace.get(ns, ())
                if peer.pods is None or peer.pods.matches(p.labels)
            ]
        return out

    def rule_pods(self, policy: Policy, rule: Rule) -> list[PodInfo]:
        """The pods a rule's peers name; every pod when the rule names no peer (for named ports)."""
        if rule.peers is None:
            return self.all_pods()
        return [p for peer in rule.peers for p in self.peer_pods(policy, peer)]

    def peer_networks(self, policy: Policy, rule: Rule) -> list[ipaddress.IPv4Network]:
        """The addresses a rule's peers allow, as few disjoint networks: each peer's pods (/32) and each ipBlock
        less its excepts, united. Empty when the peers name nothing (yet): then the rule matches nothing."""
        assert rule.peers is not None
        nets: list[ipaddress.IPv4Network] = []
        for peer in rule.peers:
            if peer.block is not None:
                nets += exclude(peer.block, peer.excepts)
            else:
                nets += [ipaddress.IPv4Network(p.ip) for p in self.peer_pods(policy, peer)]
        return list(ipaddress.collapse_addresses(nets))


def exclude(
    network: ipaddress.IPv4Network, excepts: Iterable[ipaddress.IPv4Network]
) -> list[ipaddress.IPv4Network]:
    """`network` without any of `excepts` (each a subnet of it), as disjoint networks."""
    remaining = [network]
    for hole in ipaddress.collapse_addresses(excepts):
        nxt: list[ipaddress.IPv4Network] = []
        for net in remaining:
            if hole.subnet_of(net):
                nxt += net.address_exclude(hole)
            elif not net.subnet_of(hole):
                nxt.append(net)
        remaining = nxt
    return remaining
