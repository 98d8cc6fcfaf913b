"""The restore input: names by hashing, every value checked again, stale chains removed, our jump first, sets
refilled without a moment half full."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from netpol import rules
from netpol.plan import ANY, EGRESS, INGRESS, Plan, PodRules, PortRange, build
from netpol.policy import parse_policy
from netpol.selection import Cluster

IP = ipaddress.IPv4Address("10.244.1.2")
CLIENT = ipaddress.IPv4Network("10.244.1.3/32")


def sample_plan() -> Plan:
    spec = {
        "podSelector": {"matchLabels": {"app": "server"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                "ports": [
                    {"port": 80, "endPort": 81},
                    {"port": "http"},
                    {"protocol": "UDP"},
                    {"port": 1000, "endPort": 2000},
                ],
            }
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.9.0.0/16"]}}]}],
    }
    parsed = parse_policy({"metadata": {"name": "web", "namespace": "shop"}, "spec": spec})
    pods = [
        {
            "metadata": {"name": "s", "namespace": "shop", "labels": {"app": "server"}},
            "spec": {"nodeName": "n1", "containers": [{"ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"podIP": "10.244.1.2"},
        },
        {
            "metadata": {"name": "c", "namespace": "shop", "labels": {"role": "client"}},
            "spec": {"nodeName": "n2"},
            "status": {"podIP": "10.244.1.3"},
        },
    ]
    assert parsed.policy is not None
    return build([parsed.policy], Cluster(pods, [{"metadata": {"name": "shop"}}]), ["n1"])


def test_names_are_hashes_within_iptables_and_ipset_limits() -> None:
    evil = "ns/" + "x" * 300 + '"; -j ACCEPT'
    for direction in (INGRESS, EGRESS):
        name = rules.chain_name(direction, evil)
        assert re.fullmatch(r"KLNP-POD-(IN|EG)-[A-Z2-7]{16}", name) and len(name) <= 28
    for kind in (rules.NET, rules.PAIR):
        name = rules.set_name(kind, evil)
        assert (
            re.fullmatch(r"KLNP-[NX]-[A-Z2-7]{16}", name) and len(name) <= 31 and rules.set_kind(name) == kind
        )
    assert rules.chain_name(INGRESS, "a/b") != rules.chain_name(EGRESS, "a/b")


def test_the_chains_and_sets_for_a_policy() -> None:
    built = rules.compile_plan(sample_plan())
    lines = built.text().splitlines()
    pod_in = rules.chain_name(INGRESS, "shop/s/ingress")
    pod_eg = rules.chain_name(EGRESS, "shop/s/egress")
    any_in = rules.set_name(rules.NET, "shop/s/ingress/any")
    udp_in = rules.set_name(rules.NET, "shop/s/ingress/any/udp")
    pairs_in = rules.set_name(rules.PAIR, "shop/s/ingress/pairs")
    range_in = rules.set_name(rules.NET, "shop/s/ingress/range/0")
    any_eg = rules.set_name(rules.NET, "shop/s/egress/any")
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    top = [line for line in lines if line.startswith("-A KLNP-FORWARD")]
    assert "--ctstate RELATED,ESTABLISHED" in top[0] and top[0].endswith("-j RETURN")
    assert top[1].startswith("-A KLNP-FORWARD -s 10.244.1.2/32") and top[1].endswith(f"-j {pod_eg}")
    assert top[2].startswith("-A KLNP-FORWARD -d 10.244.1.2/32") and top[2].endswith(f"-j {pod_in}")
    chain = [line.removeprefix(f"-A {pod_in} ") for line in lines if line.startswith(f"-A {pod_in} ")]
    assert chain[0].startswith("-s 10.244.1.2/32") and chain[0].endswith("-j RETURN")
    assert chain[1] == f"-m set --match-set {any_in} src -j RETURN"
    assert chain[2] == f"-p udp -m set --match-set {udp_in} src -j RETURN"
    assert chain[3] == f"-m set --match-set {pairs_in} src,dst -j RETURN"
    assert chain[4] == f"-p tcp -m tcp --dport 1000:2000 -m set --match-set {range_in} src -j RETURN"
    assert chain[5].startswith("-p tcp -m conntrack ! --ctstate DNAT")
    assert chain[5].endswith("-j REJECT --reject-with tcp-reset")
    assert chain[6].endswith("-j REJECT")
    assert len(chain) == 7
    egress = [line for line in lines if line.startswith(f"-A {pod_eg} ")]
    assert egress[0].startswith(f"-A {pod_eg} -d 10.244.1.2/32")
    assert egress[1] == f"-A {pod_eg} -m set --match-set {any_eg} dst -j RETURN"
    assert any(
        f"--match-set {rules.set_name(rules.PAIR, 'shop/s/egress/pairs')} dst,dst" in line for line in egress
    )
    assert built.sets[any_in] == frozenset()
    assert built.sets[udp_in] == frozenset({"10.244.1.3/32"})
    assert built.sets[pairs_in] == frozenset(
        {"10.244.1.3/32,tcp:80", "10.244.1.3/32,tcp:81", "10.244.1.3/32,tcp:8080"}
    )
    assert built.sets[range_in] == frozenset({"10.244.1.3/32"})
    assert "10.9.0.0/16" not in built.sets[any_eg] and "10.0.0.0/13" in built.sets[any_eg]
    assert not any("ACCEPT" in line for line in lines)  # the agent only ever takes traffic away


def test_allow_all_is_one_return() -> None:
    plan = Plan(pods=[PodRules("a/p/ingress", INGRESS, "a/p", IP, allow_all=True)])
    built = rules.compile_plan(plan)
    chain = [line for line in built.lines if line.startswith("-A KLNP-POD-IN-")]
    assert len(chain) == 2 and chain[1].endswith("-j RETURN") and built.sets == {}


def test_stale_chains_are_flushed_and_deleted() -> None:
    old = "KLNP-POD-IN-AAAAAAAAAAAAAAAA"
    built = rules.compile_plan(sample_plan(), existing=[old, "KUBE-FORWARD", rules.TOP_CHAIN])
    lines = built.text().splitlines()
    assert f":{old} - [0:0]" in lines and f"-X {old}" in lines
    assert lines.index(f"-X {old}") > max(i for i, line in enumerate(lines) if line.startswith("-A "))
    assert "-X KUBE-FORWARD" not in lines and f"-X {rules.TOP_CHAIN}" not in lines
    assert old not in built.chains


def test_a_value_that_fails_its_check_is_left_out_alone() -> None:
    bad: Any = "10.0.0.0/8 -j ACCEPT"
    pod = PodRules(
        "a/p/ingress",
        INGRESS,
        "a/p",
        IP,
        any_port={CLIENT, bad},
        pairs={(CLIENT, "tcp", 80), (CLIENT, "tcp", 0), (CLIENT, "icmp; -j ACCEPT", 1)},
        ranges=[PortRange("tcp", 0, 100, None), PortRange("udp", 1000, 2000, None)],
    )
    built = rules.compile_plan(Plan(pods=[pod]))
    assert built.sets[rules.set_name(rules.NET, "a/p/ingress/any")] == frozenset({"10.244.1.3/32"})
    assert built.sets[rules.set_name(rules.PAIR, "a/p/ingress/pairs")] == frozenset({"10.244.1.3/32,tcp:80"})
    assert len(built.skipped) == 4
    text = built.text()
    assert "--dport 0:100" not in text and "-p udp -m udp --dport 1000:2000 -j RETURN" in text
    bad_ip = Plan(pods=[PodRules("a/q/ingress", INGRESS, "a/q", bad)])
    assert rules.compile_plan(bad_ip).chains == {
        rules.TOP_CHAIN
    }  # no chain for a pod without a valid address


def test_comments_carry_only_name_characters() -> None:
    assert rules.comment("shop/web ingress") == '-m comment --comment "shop/web ingress"'
    for evil in ('x" -j ACCEPT "', "a\nb", "$(reboot)", "A/B"):
        assert rules.comment(evil) == '-m comment --comment "kubelite network policy"'


def test_jump_fix_keeps_our_jump_first() -> None:
    ours = f"-A FORWARD {rules.JUMP_RULE}"
    assert rules.jump_fix(["-P FORWARD DROP", ours, "-A FORWARD -j KUBELITE-FORWARD"]) == []
    assert rules.jump_fix(["-P FORWARD DROP"]) == [f"-I FORWARD 1 {rules.JUMP_RULE}"]
    # The kubelet's accept inserted above ours (it started later): ours goes back on top.
    assert rules.jump_fix(["-P FORWARD DROP", "-A FORWARD -j KUBELITE-FORWARD", ours]) == [
        f"-D FORWARD {rules.JUMP_RULE}",
        f"-I FORWARD 1 {rules.JUMP_RULE}",
    ]
    assert rules.jump_fix([ours, ours]) == [f"-D FORWARD {rules.JUMP_RULE}"] * 2 + [
        f"-I FORWARD 1 {rules.JUMP_RULE}"
    ]


def test_jump_goes_after_declarations() -> None:
    text = rules.compile_plan(Plan()).text(["-I FORWARD 1 " + rules.JUMP_RULE]).splitlines()
    assert text.index(":KLNP-FORWARD - [0:0]") < text.index("-I FORWARD 1 " + rules.JUMP_RULE)


def test_ipset_restore_creates_swaps_by_type_and_destroys_last() -> None:
    new, old = rules.set_name(rules.NET, "new"), rules.set_name(rules.PAIR, "old")
    wanted = {new: frozenset({"10.0.0.0/8"}), old: frozenset({"10.1.1.1/32,tcp:80", "10.1.1.2/32,udp:53"})}
    text = rules.ipset_restore(wanted, changed={old}, new={new}, destroy={"KLNP-S-OLDFORMAT"})
    lines = text.splitlines()
    assert lines[0] == f"create {new} hash:net {rules.SET_OPTIONS} -exist"
    assert f"add {new} 10.0.0.0/8 -exist" in lines
    assert f"create KLNP-SWAP-X hash:net,port {rules.SET_OPTIONS} -exist" in lines
    swap = lines.index(f"swap KLNP-SWAP-X {old}")
    assert lines[swap - 2 : swap] == [
        "add KLNP-SWAP-X 10.1.1.1/32,tcp:80 -exist",
        "add KLNP-SWAP-X 10.1.1.2/32,udp:53 -exist",
    ]
    assert lines[-2:] == ["destroy KLNP-SWAP-X", "destroy KLNP-S-OLDFORMAT"]
    assert rules.ipset_restore({}, (), (), ()) == ""


def test_any_peer_is_the_two_halves() -> None:
    assert sum(n.num_addresses for n in ANY) == 2**32


def test_anyone_is_written_as_two_halves_never_a_slash_zero() -> None:
    pod = PodRules("a/p/ingress", INGRESS, "a/p", IP, any_port=set(ANY), pairs={(n, "tcp", 80) for n in ANY})
    built = rules.compile_plan(Plan(pods=[pod]))
    assert built.sets[rules.set_name(rules.NET, "a/p/ingress/any")] == frozenset({"0.0.0.0/1", "128.0.0.0/1"})
    assert built.sets[rules.set_name(rules.PAIR, "a/p/ingress/pairs")] == frozenset(
        {"0.0.0.0/1,tcp:80", "128.0.0.0/1,tcp:80"}
    )
