"""A NetworkPolicy object as the agent uses it: typed, and validated again here, where its values start their way
to iptables and ipset.

The apiserver has validated the object already; this module does not trust that. Every value that could reach a
rule is read into a type that cannot carry anything else: selectors into `labels.Selector`, CIDRs into
`ipaddress.IPv4Network` (IPv4 only: the agent programs iptables, not ip6tables), ports into ints in 1-65535,
protocols through a fixed table. An entry that fails is skipped and described in `Parsed.problems` (the agent logs
it and records an Event); the rest of the policy still applies.

Skipping never widens what a policy allows: a rule whose peers or ports are all skipped is dropped (it allowed
something; now it allows nothing), an ipBlock with a bad `except` is dropped whole (without the except it would allow
more), and a policy whose own pod selector is unreadable is skipped entirely (there is no telling which pods it is
about).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apimachinery import labels

Obj = dict[str, Any]

# The only protocol strings that reach a rule: iptables' names for Kubernetes' three.
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
POLICY_TYPES = ("Ingress", "Egress")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_CIDR_SHAPE = re.compile(r"[0-9.]+/[0-9]{1,2}")


@dataclass(frozen=True)
class Port:
    """One entry of a rule's `ports`: a protocol with all its ports, one port, a range, or a named port."""

    protocol: str  # a value of PROTOCOLS
    number: int | None = None
    end: int | None = None  # the inclusive end of a range
    name: str | None = None  # resolved against each pod's container ports


@dataclass(frozen=True)
class Peer:
    """One entry of a rule's `from`/`to`: pods (by selector, in namespaces by selector) or an ipBlock."""

    pods: labels.Selector | None = None  # None: every pod (of the namespaces)
    namespaces: labels.Selector | None = None  # None: the policy's own namespace
    block: ipaddress.IPv4Network | None = None
    excepts: tuple[ipaddress.IPv4Network, ...] = ()


@dataclass(frozen=True)
class Rule:
    peers: tuple[Peer, ...] | None  # None: any peer
    ports: tuple[Port, ...] | None  # None: any port of any protocol


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    selector: labels.Selector
    ingress: tuple[Rule, ...] | None  # None: the policy is not about ingress
    egress: tuple[Rule, ...] | None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class Parsed:
    policy: Policy | None
    problems: list[str] = field(default_factory=list)


def parse_port(value: Any) -> Port:
    """A NetworkPolicyPort; ValueError says what is wrong with it."""
    if not isinstance(value, dict):
        raise ValueError("is not an object")
    protocol = PROTOCOLS.get(value.get("protocol") or "TCP")
    if protocol is None:
        raise ValueError(f"protocol {value.get('protocol')!r} is not TCP, UDP or SCTP")
    number, end = value.get("port"), value.get("endPort")
    if number is None:
        if end is not None:
            raise ValueError("endPort without port")
        return Port(protocol)
    if isinstance(number, str):
        if end is not None:
            raise ValueError("endPort with a named port")
        if len(number) > 15 or not _PORT_NAME.fullmatch(number) or not re.search("[a-z]", number):
            raise ValueError(f"port name {number!r} is not valid")
        return Port(protocol, name=number)
    if not _port_number(number):
        raise ValueError(f"port {number!r} is not a number in 1-65535")
    if end is None:
        return Port(protocol, number)
    if not _port_number(end) or end < number:
        raise ValueError(f"endPort {end!r} is not a number in {number}-65535")
    return Port(protocol, number, end)


def _port_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def parse_cidr(value: Any) -> ipaddress.IPv4Network:
    """An IPv4 CIDR, host bits allowed (as Go's ParseCIDR allows them); ValueError otherwise."""
    if not isinstance(value, str) or not _CIDR_SHAPE.fullmatch(value):
        raise ValueError(f"{value!r} is not an IPv4 CIDR")
    try:
        return ipaddress.IPv4Network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 CIDR: {exc}") from None


def _selector(value: Any) -> labels.Selector:
    if not isinstance(value, dict):
        raise ValueError("selector is not an object")
    try:
        return labels.from_label_selector(value)
    except (AttributeError, TypeError) as exc:  # matchLabels or matchExpressions of the wrong shape
        raise ValueError(f"selector is malformed: {exc}") from None


def parse_peer(value: Any) -> Peer:
    """A NetworkPolicyPeer; ValueError says what is wrong with it."""
    if not isinstance(value, dict):
        raise ValueError("is not an object")
    pods, namespaces, block = value.get("podSelector"), value.get("namespaceSelector"), value.get("ipBlock")
    if block is not None:
        if pods is not None or namespaces is not None:
            raise ValueError("ipBlock together with a selector")
        if not isinstance(block, dict):
            raise ValueError("ipBlock is not an object")
        try:
            network = parse_cidr(block.get("cidr"))
            excepts = block.get("except") or []
            if not isinstance(excepts, list):
                raise ValueError("except is not a list")
            inner = tuple(parse_cidr(e) for e in excepts)
        except ValueError as exc:
            raise ValueError(f"ipBlock: {exc}") from None
        for e in inner:
            if not (e.subnet_of(network) and e.prefixlen > network.prefixlen):
                raise ValueError(f"ipBlock: except {e} is not a strict subset of {network}")
        return Peer(block=network, excepts=inner)
    if pods is None and namespaces is None:
        raise ValueError("names no peer")
    return Peer(
        pods=_selector(pods) if pods is not None else None,
        namespaces=_selector(namespaces) if namespaces is not None else None,
    )


T = TypeVar("T")

_MALFORMED: list[Any] = []  # what `_entries` returns for a value that is not a list


def _entries(value: Any, what: str, problems: list[str]) -> list[Any] | None:
    """The list `value`: None when unset, `_MALFORMED` (reported) when it is not a list."""
    if value is None:
        return None
    if not isinstance(value, list):
        problems.append(f"{what} is not a list")
        return _MALFORMED
    return value


def _parse_each(
    items: list[Any] | None, parse: Callable[[Any], T], path: str, problems: list[str]
) -> list[T]:
    """The entries of `items` that `parse` accepts; each one it refuses is noted in `problems` and skipped."""
    parsed: list[T] = []
    for i, item in enumerate(items or []):
        try:
            parsed.append(parse(item))
        except ValueError as exc:
            problems.append(f"{path}[{i}] {exc}: skipped")
    return parsed


def parse_rule(value: Any, path: str, peers_key: str, problems: list[str]) -> Rule | None:
    """One ingress or egress rule; None when it cannot be used as written (it then allows nothing)."""
    if not isinstance(value, dict):
        problems.append(f"{path} is not an object: rule skipped")
        return None
    raw_peers = _entries(value.get(peers_key), f"{path}.{peers_key}", problems)
    raw_ports = _entries(value.get("ports"), f"{path}.ports", problems)
    if raw_peers is _MALFORMED or raw_ports is _MALFORMED:
        problems.append(f"{path}: rule skipped")
        return None
    peers = _parse_each(raw_peers, parse_peer, f"{path}.{peers_key}", problems)
    ports = _parse_each(raw_ports, parse_port, f"{path}.ports", problems)
    # An empty list means "any"; a list whose every entry was skipped must not come to mean that.
    for written, usable, what in ((raw_peers, peers, peers_key), (raw_ports, ports, "ports")):
        if written and not usable:
            problems.append(f"{path} has no usable {what}: rule skipped")
            return None
    return Rule(tuple(peers) if peers else None, tuple(ports) if ports else None)


def policy_types(spec: Obj, problems: list[str]) -> set[str]:
    """The directions a policy is about; unset, as kube-apiserver defaults them."""
    types = spec.get("policyTypes")
    if not types:
        return {"Ingress", *(["Egress"] if spec.get("egress") else [])}
    if not isinstance(types, list):
        problems.append("spec.policyTypes is not a list: read as Ingress")
        return {"Ingress"}
    known = {t for t in types if t in POLICY_TYPES}
    problems.extend(
        f"spec.policyTypes {t!r} is not Ingress or Egress: skipped" for t in types if t not in known
    )
    return known


def parse_policy(obj: Obj) -> Parsed:
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace"), meta.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str) or not namespace or not name:
        return Parsed(None, ["has no namespace or name: skipped"])
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return Parsed(None, ["spec is not an object: policy skipped"])
    out = Parsed(None)
    try:
        selector = _selector(spec.get("podSelector") or {})
    except ValueError as exc:
        return Parsed(None, [f"spec.podSelector {exc}: policy skipped"])
    types = policy_types(spec, out.problems)
    rules: dict[str, tuple[Rule, ...] | None] = {}
    for direction, key, peers_key in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
        if direction not in types:
            rules[key] = None
            continue
        # Malformed rules read as none: the pods are isolated and nothing is allowed (never the reverse).
        entries = _entries(spec.get(key), f"spec.{key}", out.problems) or []
        parsed = (parse_rule(r, f"spec.{key}[{i}]", peers_key, out.problems) for i, r in enumerate(entries))
        rules[key] = tuple(r for r in parsed if r is not None)
    out.policy = Policy(namespace, name, selector, rules["ingress"], rules["egress"])
    return out
