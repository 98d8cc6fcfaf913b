"""A plan as `iptables-restore --noflush` and `ipset restore` input: pure functions, and the one place where values
become command text.

The filter table, for a local pod P isolated by policies A and B (ingress shown; egress mirrors it with -s/dst):

    FORWARD             -j KLNP-FORWARD, kept the FIRST rule: before the kubelet's KUBELITE-FORWARD accept,
                        kube-proxy's KUBE-FORWARD and Docker's DOCKER-USER, any of which would accept the packet
    KLNP-FORWARD        RELATED,ESTABLISHED -> RETURN (connections already allowed are kept);
                        -s P -> KLNP-POD-EG-<P>, -d P -> KLNP-POD-IN-<P> for every isolated local pod
    KLNP-POD-IN-<P>     -s P -> RETURN (a pod may always reach itself); -> KLNP-POL-IN-<A>; -> KLNP-POL-IN-<B>;
                        not marked -> REJECT; clear the mark
    KLNP-POL-IN-<A>     marked already -> RETURN; one rule per (rule, port): peers' set, protocol, port -> MARK

The agent never ACCEPTs: allowed traffic returns to FORWARD and meets the rules it met before the agent existed,
so a policy can only ever take traffic away (the egress guard and Docker's isolation stay in force). Traffic from
the node itself to its pods (kubelet probes) and from pods to their node never passes FORWARD (it is OUTPUT and
INPUT), so it is allowed, as upstream says it must be.

Values reach the text only as `ipaddress` objects, ints checked to be ports, protocols from a fixed table and names
that are hashes; `_check_*` raise on anything else and the rule is skipped (logged) while the rest is written.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from netpol.plan import EGRESS, INGRESS, Plan, PolicyRule, PortMatch
from netpol.policy import PROTOCOLS

log = logging.getLogger("netpol.rules")

PREFIX = "KLNP-"
TOP_CHAIN = "KLNP-FORWARD"
MARK = "0x10000"  # kube-proxy uses 0x4000 (masquerade); nothing else on the node uses this bit
SWAP_SET = "KLNP-SWAP"  # the scratch set `ipset swap` fills before it trades contents with a live one
JUMP_COMMENT = "kubelite network policies"
JUMP_RULE = f'-m comment --comment "{JUMP_COMMENT}" -j {TOP_CHAIN}'
SET_TYPE = "hash:net family inet hashsize 64 maxelem 1048576"

_CHAIN_PREFIXES = {
    ("pod", INGRESS): "KLNP-POD-IN-",
    ("pod", EGRESS): "KLNP-POD-EG-",
    ("policy", INGRESS): "KLNP-POL-IN-",
    ("policy", EGRESS): "KLNP-POL-EG-",
}
_NAME = re.compile(r"KLNP-[A-Z0-9-]{1,26}")  # chains: at most 28 characters, as iptables allows
_COMMENT = re.compile(r"[a-z0-9][-a-z0-9./ ]{0,250}")


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def chain_name(kind: str, direction: str, key: str) -> str:
    return _CHAIN_PREFIXES[(kind, direction)] + _hash(key)


def set_name(key: str) -> str:
    """A set for `key`: "KLNP-S-" and a hash (23 characters; ipset allows 31)."""
    return "KLNP-S-" + _hash(key)


def owned(name: str) -> bool:
    return name.startswith(PREFIX)


# -- checks: the last word on every value that becomes text ---------------------------------------------------


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not one of our names: {name!r}")
    return name


def _check_ip(ip: object) -> str:
    if not isinstance(ip, ipaddress.IPv4Address):
        raise ValueError(f"not an IPv4 address: {ip!r}")
    return str(ip)


def _check_net(net: object) -> str:
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"not an IPv4 network: {net!r}")
    return str(net)


def _check_port(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ValueError(f"not a port: {value!r}")
    return value


def _check_protocol(value: object) -> str:
    if value not in PROTOCOLS.values():
        raise ValueError(f"not a protocol: {value!r}")
    return str(value)


def comment(text: str) -> str:
    """A rule comment, quoted; anything but the characters of Kubernetes names is left out."""
    if not _COMMENT.fullmatch(text):
        text = "kubelite network policy"
    return f'-m comment --comment "{text}"'


# -- the filter table ----------------------------------------------------------------------------------------


def _port_text(match: PortMatch) -> str:
    protocol = _check_protocol(match.protocol)
    parts = [f"-p {protocol} -m {protocol}"]
    if match.ports is not None:
        low, high = (_check_port(p) for p in match.ports)
        if high < low:
            raise ValueError(f"not a port range: {low}:{high}")
        parts.append(f"--dport {low}" if low == high else f"--dport {low}:{high}")
    if match.dst_set is not None:
        parts.append(f"-m set --match-set {_check_name(set_name(match.dst_set))} dst")
    return " ".join(parts)


def _policy_rule(chain: str, direction: str, rule: PolicyRule) -> str:
    parts = [f"-A {chain}", comment(rule.comment)]
    if rule.peer_set is not None:
        side = "src" if direction == INGRESS else "dst"
        parts.append(f"-m set --match-set {_check_name(set_name(rule.peer_set))} {side}")
    if rule.port is not None:
        parts.append(_port_text(rule.port))
    parts.append(f"-j MARK --set-xmark {MARK}/{MARK}")
    return " ".join(parts)


@dataclass
class FilterRules:
    """The restore input for our chains and the chains it leaves in place."""

    lines: list[str] = field(default_factory=list)
    chains: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # rules left out, and why

    def text(self, extra: Iterable[str] = ()) -> str:
        """The restore input; `extra` lines (the jump from FORWARD) go after the chain declarations."""
        declared = [line for line in self.lines if line.startswith(":")]
        rest = [line for line in self.lines if not line.startswith(":")]
        return "*filter\n" + "".join(line + "\n" for line in [*declared, *extra, *rest, "COMMIT"])

    @property
    def rule_count(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-A "))


def _rule(out: list[str], skipped: list[str], build: Callable[[], str]) -> None:
    """Append `build()`; a value that fails its check skips this one rule (and says so)."""
    try:
        out.append(build())
    except ValueError as exc:
        skipped.append(str(exc))
        log.error("rule skipped: a value failed its check", extra={"error": str(exc)})


def _pod_chain_lines(plan: Plan, out: list[str]) -> list[str]:
    """The pod chains' rules; returns the jumps into them for the top chain."""
    jumps: list[str] = []
    for pod in plan.pod_chains:
        name = _check_name(chain_name("pod", pod.direction, pod.key))
        flag, peer = ("-s", "-d") if pod.direction == EGRESS else ("-d", "-s")
        ip = _check_ip(pod.ip)
        jumps.append(f"-A {TOP_CHAIN} {flag} {ip}/32 {comment(pod.pod)} -j {name}")
        out.append(f"-A {name} {peer} {ip}/32 {comment('to itself')} -j RETURN")
        for key in pod.policies:
            out.append(f"-A {name} -j {_check_name(chain_name('policy', pod.direction, key))}")
        reason = comment(f"{pod.pod} {pod.direction} not allowed by any policy")
        out.append(f"-A {name} -m mark ! --mark {MARK}/{MARK} {reason} -j REJECT")
        out.append(f"-A {name} -j MARK --set-xmark 0x0/{MARK}")
    return jumps


def filter_rules(plan: Plan, existing: Iterable[str] = ()) -> FilterRules:
    """The restore input for `plan`. `existing` are our chains present now; those the plan does not use are
    flushed and deleted in the same restore."""
    out = FilterRules()
    body: list[str] = []
    for chain in plan.policy_chains:
        name = _check_name(chain_name("policy", chain.direction, chain.key))
        out.chains.add(name)
        body.append(f"-A {name} -m mark --mark {MARK}/{MARK} -j RETURN")
        for rule in chain.rules:
            _rule(body, out.skipped, lambda: _policy_rule(name, chain.direction, rule))  # noqa: B023
    out.chains |= {chain_name("pod", c.direction, c.key) for c in plan.pod_chains}
    jumps = _pod_chain_lines(plan, body)
    top = [
        f"-A {TOP_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED {comment('connections already allowed')}"
        " -j RETURN",
        *jumps,
    ]
    stale = sorted({c for c in existing if owned(c) and c != TOP_CHAIN} - out.chains)
    declared = [TOP_CHAIN, *sorted(out.chains), *stale]
    out.lines = [*(f":{c} - [0:0]" for c in declared), *top, *body, *(f"-X {c}" for c in stale)]
    out.chains.add(TOP_CHAIN)
    return out


def jump_fix(forward_rules: list[str]) -> list[str]:
    """Restore lines that make our jump the first rule of FORWARD, given `iptables -S FORWARD` (empty when it is
    first already): every copy deleted, one inserted at the top."""
    ours = [line for line in forward_rules if line.startswith("-A FORWARD") and f"-j {TOP_CHAIN}" in line]
    rules = [line for line in forward_rules if line.startswith("-A FORWARD")]
    if len(ours) == 1 and rules[0] == ours[0]:
        return []
    return [*(f"-D FORWARD {JUMP_RULE}" for _ in ours), f"-I FORWARD 1 {JUMP_RULE}"]


# -- sets ----------------------------------------------------------------------------------------------------


def set_members(plan: Plan) -> dict[str, frozenset[str]]:
    """Each set's name and its members as text. A member that fails its check is left out (a set of peers or of
    named-port holders that lacks one allows less, never more)."""
    out: dict[str, frozenset[str]] = {}
    for key, members in plan.sets.items():
        texts = set()
        for member in members:
            try:
                texts.add(_check_net(member))
            except ValueError as exc:
                log.error("set member skipped: it failed its check", extra={"error": str(exc)})
        out[_check_name(set_name(key))] = frozenset(texts)
    return out


def ipset_restore(
    wanted: dict[str, frozenset[str]], changed: Iterable[str], new: Iterable[str], destroy: Iterable[str]
) -> str:
    """`ipset restore` input: sets in `new` are created and filled; sets in `changed` are refilled through the
    scratch set and `swap`, so a packet never meets a half-filled set; sets in `destroy` go last (they are no
    longer in any rule; should one still be, the restore stops there, after everything else is done)."""
    lines: list[str] = []
    for name in sorted(new):
        lines.append(f"create {_check_name(name)} {SET_TYPE} -exist")
        lines += [f"add {name} {m} -exist" for m in sorted(wanted[name])]
    refill = sorted(set(changed) - set(new))
    if refill:
        lines.append(f"create {SWAP_SET} {SET_TYPE} -exist")
        for name in refill:
            lines.append(f"flush {SWAP_SET}")
            lines += [f"add {SWAP_SET} {m} -exist" for m in sorted(wanted[name])]
            lines.append(f"swap {SWAP_SET} {_check_name(name)}")
        lines.append(f"destroy {SWAP_SET}")
    lines += [f"destroy {_check_name(name)}" for name in sorted(destroy)]
    return "".join(line + "\n" for line in lines)
