"""A plan as `iptables-restore --noflush` and `ipset restore` input: pure functions, and the one place where values
become command text.

The filter table, for a local pod P that policies isolate (ingress shown; egress mirrors it with -s and dst):

    FORWARD             -j KLNP-FORWARD, kept the FIRST rule: before the kubelet's KUBELITE-FORWARD accept,
                        kube-proxy's KUBE-FORWARD and Docker's DOCKER-USER, any of which would accept the packet
    KLNP-FORWARD        RELATED,ESTABLISHED -> RETURN (connections already allowed are kept);
                        -s P -> KLNP-POD-EG-<P>, -d P -> KLNP-POD-IN-<P> for every isolated local pod
    KLNP-POD-IN-<P>     -s P -> RETURN (a pod may always reach itself)
                        source in KLNP-N-<P> (peers on any port) -> RETURN
                        -p udp, source in KLNP-N-<P udp> (peers on any UDP port) -> RETURN   (when used)
                        (source, destination port) in KLNP-X-<P> (peer and port pairs) -> RETURN
                        -p tcp --dport 1000:9000, source in KLNP-N-<P range> -> RETURN     (wide ranges only)
                        -p tcp (not service traffic) -> REJECT with a TCP reset; anything else -> REJECT

Returning is allowing: the packet goes back to FORWARD and meets the rules it met before the agent existed. The
agent never ACCEPTs, so a policy can only ever take traffic away (the egress guard and Docker's isolation stay in
force). Traffic from the node itself to its pods (kubelet probes) and from pods to their node never passes FORWARD
(it is OUTPUT and INPUT), so it is allowed, as upstream says it must be.

Values reach the text only as `ipaddress` objects, ints checked to be ports, protocols from a fixed table and names
that are hashes; `_check_*` raise on anything else, and that one entry or rule is skipped (logged).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from netpol.plan import EGRESS, INGRESS, Plan, PodRules
from netpol.policy import PROTOCOLS

log = logging.getLogger("netpol.rules")

PREFIX = "KLNP-"
TOP_CHAIN = "KLNP-FORWARD"
JUMP_COMMENT = "kubelite network policies"
JUMP_RULE = f'-m comment --comment "{JUMP_COMMENT}" -j {TOP_CHAIN}'
NET, PAIR = "hash:net", "hash:net,port"
SET_OPTIONS = "family inet hashsize 64 maxelem 1048576"
SWAP_SETS = {NET: "KLNP-SWAP-N", PAIR: "KLNP-SWAP-X"}  # scratch sets `ipset swap` trades contents with

_POD_CHAINS = {INGRESS: "KLNP-POD-IN-", EGRESS: "KLNP-POD-EG-"}
_CHAIN = re.compile(r"KLNP-[A-Z0-9-]{1,23}")  # chains: at most 28 characters, as iptables allows
_SET = re.compile(r"KLNP-[NX]-[A-Z2-7]{16}")
_OWNED = re.compile(r"KLNP-[A-Z0-9-]{1,26}")  # any set of ours, of this version or an earlier one
_COMMENT = re.compile(r"[a-z0-9][-a-z0-9./ ]{0,250}")


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def chain_name(direction: str, key: str) -> str:
    return _POD_CHAINS[direction] + _hash(key)


def set_name(kind: str, key: str) -> str:
    """A set of `kind` (NET or PAIR) for `key`: "KLNP-N-" or "KLNP-X-" and a hash (23 characters; ipset allows 31)."""
    return ("KLNP-N-" if kind == NET else "KLNP-X-") + _hash(key)


def set_kind(name: str) -> str:
    return PAIR if name.startswith("KLNP-X-") else NET


def owned(name: str) -> bool:
    return name.startswith(PREFIX)


# -- checks: the last word on every value that becomes text ---------------------------------------------------


def _check(pattern: re.Pattern[str], name: str) -> str:
    if not pattern.fullmatch(name):
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


def _skip(skipped: list[str], exc: Exception) -> None:
    skipped.append(str(exc))
    log.error("entry skipped: a value failed its check", extra={"error": str(exc)})


def _nets(members: Iterable[object], skipped: list[str]) -> frozenset[str]:
    """Networks as text, collapsed; one that fails its check is left out (a set of allowed peers that lacks
    one allows less, never more)."""
    good: list[ipaddress.IPv4Network] = []
    for member in members:
        try:
            _check_net(member)
        except ValueError as exc:
            _skip(skipped, exc)
            continue
        assert isinstance(member, ipaddress.IPv4Network)
        good.append(member)
    collapsed = ipaddress.collapse_addresses(good)
    # ipset's net types cannot hold a /0: anyone stays the two halves.
    return frozenset(str(half) for n in collapsed for half in (n.subnets() if n.prefixlen == 0 else [n]))


def _pairs(pairs: Iterable[object], skipped: list[str]) -> frozenset[str]:
    """(network, protocol, port) triples as ipset's `net,protocol:port`, networks collapsed per port."""
    by_port: dict[tuple[str, int], list[object]] = {}
    for pair in pairs:
        try:
            if not isinstance(pair, tuple) or len(pair) != 3:
                raise ValueError(f"not a (network, protocol, port) pair: {pair!r}")
            _check_net(pair[0])
            by_port.setdefault((_check_protocol(pair[1]), _check_port(pair[2])), []).append(pair[0])
        except ValueError as exc:
            _skip(skipped, exc)
    return frozenset(f"{n},{p}:{port}" for (p, port), nets in by_port.items() for n in _nets(nets, skipped))


# -- one pod's chain and sets ---------------------------------------------------------------------------------


@dataclass
class Compiled:
    """The restore input for our chains, the sets they use, and what was left out."""

    lines: list[str] = field(default_factory=list)  # chain declarations and rules, without COMMIT
    chains: set[str] = field(default_factory=set)
    sets: dict[str, frozenset[str]] = field(default_factory=dict)  # name -> members (kind: `set_kind(name)`)
    skipped: list[str] = field(default_factory=list)

    def text(self, extra: Iterable[str] = ()) -> str:
        """The iptables-restore input; `extra` lines (the jump from FORWARD) go after the chain declarations."""
        declared = [line for line in self.lines if line.startswith(":")]
        rest = [line for line in self.lines if not line.startswith(":")]
        return "*filter\n" + "".join(line + "\n" for line in [*declared, *extra, *rest, "COMMIT"])

    @property
    def rule_count(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-A "))


def _pod_rules(pod: PodRules, out: Compiled) -> list[str]:
    """The rules of one pod's chain (and its sets into `out.sets`)."""
    name = _check(_CHAIN, chain_name(pod.direction, pod.key))
    side = "src" if pod.direction == INGRESS else "dst"
    self_flag = "-s" if pod.direction == INGRESS else "-d"
    ip = _check_ip(pod.ip)
    lines = [f"-A {name} {self_flag} {ip}/32 {comment('to itself')} -j RETURN"]
    if pod.allow_all:
        return [*lines, f"-A {name} {comment('a policy allows all')} -j RETURN"]

    def with_set(kind: str, key: str, members: frozenset[str], match: str) -> str:
        set_ = _check(_SET, set_name(kind, key))
        out.sets[set_] = members
        return f"-A {name} {match.format(set=set_)} -j RETURN"

    nets = _nets(pod.any_port, out.skipped)
    lines.append(with_set(NET, f"{pod.key}/any", nets, f"-m set --match-set {{set}} {side}"))
    for protocol in sorted(pod.protocol_any):
        try:
            p = _check_protocol(protocol)
        except ValueError as exc:
            _skip(out.skipped, exc)
            continue
        members = _nets(pod.protocol_any[protocol], out.skipped)
        lines.append(
            with_set(NET, f"{pod.key}/any/{p}", members, f"-p {p} -m set --match-set {{set}} {side}")
        )
    pairs = _pairs(pod.pairs, out.skipped)
    lines.append(with_set(PAIR, f"{pod.key}/pairs", pairs, f"-m set --match-set {{set}} {side},dst"))
    for i, wide in enumerate(pod.ranges):
        try:
            p, low, high = _check_protocol(wide.protocol), _check_port(wide.low), _check_port(wide.high)
        except ValueError as exc:
            _skip(out.skipped, exc)
            continue
        match = f"-p {p} -m {p} --dport {low}:{high}"
        if wide.peers is None:
            lines.append(f"-A {name} {match} -j RETURN")
        else:
            members = _nets(wide.peers, out.skipped)
            lines.append(
                with_set(NET, f"{pod.key}/range/{i}", members, f"{match} -m set --match-set {{set}} {side}")
            )
    reason = comment(f"{pod.pod} {pod.direction} not allowed by any policy")
    # TCP gets a reset: the kernel rate-limits ICMP errors (to about one a second per peer), so a client that
    # retries would see its later attempts hang instead of fail. Not for service traffic (DNAT): the reset would
    # come from the pod's address, which the client never spoke to, while an ICMP error is translated back.
    lines.append(f"-A {name} -p tcp -m conntrack ! --ctstate DNAT {reason} -j REJECT --reject-with tcp-reset")
    lines.append(f"-A {name} {reason} -j REJECT")
    return lines


def compile_plan(plan: Plan, existing: Iterable[str] = ()) -> Compiled:
    """The restore input for `plan` and its sets. `existing` are our chains present now; those the plan does not
    use are flushed and deleted in the same restore."""
    out = Compiled()
    jumps: list[str] = []
    body: list[str] = []
    for pod in plan.pods:
        try:
            rules = _pod_rules(pod, out)
        except ValueError as exc:  # a pod whose own address fails its check: no chain, nothing to isolate
            out.skipped.append(str(exc))
            log.error("pod chain skipped: a value failed its check", extra={"error": str(exc)})
            continue
        name = chain_name(pod.direction, pod.key)
        out.chains.add(name)
        flag = "-s" if pod.direction == EGRESS else "-d"
        jumps.append(f"-A {TOP_CHAIN} {flag} {_check_ip(pod.ip)}/32 {comment(pod.pod)} -j {name}")
        body += rules
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


def ipset_restore(
    wanted: dict[str, frozenset[str]], changed: Iterable[str], new: Iterable[str], destroy: Iterable[str]
) -> str:
    """`ipset restore` input: sets in `new` are created and filled; sets in `changed` are refilled through a
    scratch set of their type and `swap`, so a packet never meets a half-filled set; sets in `destroy` go last
    (they are in no rule any more; should one still be, the restore stops there, after everything else)."""
    lines: list[str] = []
    for name in sorted(new):
        lines.append(f"create {_check(_SET, name)} {set_kind(name)} {SET_OPTIONS} -exist")
        lines += [f"add {name} {m} -exist" for m in sorted(wanted[name])]
    refill = sorted(set(changed) - set(new))
    scratch = sorted({set_kind(name) for name in refill})
    for kind in scratch:
        lines.append(f"create {SWAP_SETS[kind]} {kind} {SET_OPTIONS} -exist")
    for name in refill:
        swap = SWAP_SETS[set_kind(name)]
        lines.append(f"flush {swap}")
        lines += [f"add {swap} {m} -exist" for m in sorted(wanted[name])]
        lines.append(f"swap {swap} {_check(_SET, name)}")
    lines += [f"destroy {SWAP_SETS[kind]}" for kind in scratch]
    lines += [f"destroy {_check(_OWNED, name)}" for name in sorted(destroy)]
    return "".join(line + "\n" for line in lines)
