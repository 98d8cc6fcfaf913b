"""The restore input: names by hashing, every value checked again, stale chains removed, our jump first."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from netpol import rules
from netpol.plan import EGRESS, INGRESS, Plan, PodChain, PolicyChain, PolicyRule, PortMatch
from netpol.policy import parse_policy
from netpol.selection import Cluster

IP = ipaddress.IPv4Address("10.244.1.2")


def sample_plan() -> Plan:
    spec = {
        "podSelector": {"matchLabels": {"app": "server"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [{"podSelector": {}}], "ports": [{"port": 80, "endPort": 90}, {"port": "http"}]}
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.9.0.0/16"]}}]}],
    }
    parsed = parse_policy({"metadata": {"name": "web", "namespace": "shop"}, "spec": spec})
    pods = [
        {
            "metadata": {"name": "s", "namespace": "shop", "labels": {"app": "server"}},
            "spec": {"nodeName": "n1", "containers": [{"ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"podIP": "10.244.1.2"},
        }
    ]
    assert parsed.policy is not None
    from netpol.plan import build

    return build([parsed.policy], Cluster(pods, [{"metadata": {"name": "shop"}}]), ["n1"])


def test_names_are_hashes_within_iptables_and_ipset_limits() -> None:
    evil = "ns/" + "x" * 300 + '"; -j ACCEPT'
    for kind in ("pod", "policy"):
        for direction in (INGRESS, EGRESS):
            name = rules.chain_name(kind, direction, evil)
            assert re.fullmatch(r"KLNP-(POD|POL)-(IN|EG)-[A-Z2-7]{16}", name) and len(name) <= 28
    assert re.fullmatch(r"KLNP-S-[A-Z2-7]{16}", rules.set_name(evil)) and len(rules.set_name(evil)) <= 31
    assert rules.chain_name("pod", INGRESS, "a/b") != rules.chain_name("pod", EGRESS, "a/b")


def test_the_filter_text_for_a_policy() -> None:
    plan = sample_plan()
    text = rules.filter_rules(plan).text()
    pod_in = rules.chain_name("pod", INGRESS, "shop/s/ingress")
    pol_in = rules.chain_name("policy", INGRESS, "shop/web/ingress")
    pod_eg = rules.chain_name("pod", EGRESS, "shop/s/egress")
    peers = rules.set_name("shop/web/ingress/0")
    named = rules.set_name("shop/web/ingress/0/tcp/http/8080")
    lines = text.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    top = [line for line in lines if line.startswith("-A KLNP-FORWARD")]
    assert "--ctstate RELATED,ESTABLISHED" in top[0] and top[0].endswith("-j RETURN")
    assert top[1].startswith("-A KLNP-FORWARD -s 10.244.1.2/32") and top[1].endswith(f"-j {pod_eg}")
    assert top[2].startswith("-A KLNP-FORWARD -d 10.244.1.2/32") and top[2].endswith(f"-j {pod_in}")
    pod_rules = [line for line in lines if line.startswith(f"-A {pod_in} ")]
    assert pod_rules[0].startswith(f"-A {pod_in} -s 10.244.1.2/32") and pod_rules[0].endswith("-j RETURN")
    assert pod_rules[1] == f"-A {pod_in} -j {pol_in}"
    assert "-m mark ! --mark 0x10000/0x10000" in pod_rules[2] and pod_rules[2].endswith("-j REJECT")
    assert pod_rules[3] == f"-A {pod_in} -j MARK --set-xmark 0x0/0x10000"
    policy_rules = [line for line in lines if line.startswith(f"-A {pol_in} ")]
    assert policy_rules[0] == f"-A {pol_in} -m mark --mark 0x10000/0x10000 -j RETURN"
    assert f"-m set --match-set {peers} src -p tcp -m tcp --dport 80:90 -j MARK" in policy_rules[1]
    assert f"--dport 8080 -m set --match-set {named} dst -j MARK" in policy_rules[2]
    assert not any("ACCEPT" in line for line in lines)  # the agent only ever takes traffic away


def test_stale_chains_are_flushed_and_deleted() -> None:
    plan = sample_plan()
    old = "KLNP-POL-IN-AAAAAAAAAAAAAAAA"
    built = rules.filter_rules(plan, existing=[old, "KUBE-FORWARD", rules.TOP_CHAIN])
    lines = built.text().splitlines()
    assert f":{old} - [0:0]" in lines and f"-X {old}" in lines
    assert lines.index(f"-X {old}") > max(i for i, line in enumerate(lines) if line.startswith("-A "))
    assert "-X KUBE-FORWARD" not in lines and f"-X {rules.TOP_CHAIN}" not in lines
    assert old not in built.chains


def test_a_value_that_fails_its_check_skips_one_rule_only() -> None:
    plan = Plan(
        pod_chains=[PodChain("a/p/ingress", INGRESS, "a/p", IP, ["a/x/ingress"])],
        policy_chains=[
            PolicyChain(
                "a/x/ingress",
                INGRESS,
                "a/x ingress",
                [
                    PolicyRule("bad port", None, PortMatch("tcp", (0, 5))),
                    PolicyRule("bad protocol", None, PortMatch("icmp; -j ACCEPT")),
                    PolicyRule("fine", None, PortMatch("udp", (53, 53))),
                ],
            )
        ],
    )
    built = rules.filter_rules(plan)
    assert len(built.skipped) == 2
    marks = [line for line in built.lines if "--set-xmark 0x10000/0x10000" in line]
    assert len(marks) == 1 and "-p udp -m udp --dport 53" in marks[0]


def test_comments_carry_only_name_characters() -> None:
    assert rules.comment("shop/web ingress rule 0") == '-m comment --comment "shop/web ingress rule 0"'
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
    text = rules.filter_rules(Plan()).text(["-I FORWARD 1 " + rules.JUMP_RULE]).splitlines()
    assert text.index(":KLNP-FORWARD - [0:0]") < text.index("-I FORWARD 1 " + rules.JUMP_RULE)


def test_ipset_restore_creates_swaps_and_destroys_last() -> None:
    wanted = {
        "KLNP-S-NEW": frozenset({"10.0.0.0/8"}),
        "KLNP-S-OLD": frozenset({"10.1.1.1/32", "10.1.1.2/32"}),
    }
    text = rules.ipset_restore(wanted, changed={"KLNP-S-OLD"}, new={"KLNP-S-NEW"}, destroy={"KLNP-S-GONE"})
    lines = text.splitlines()
    assert lines[0] == f"create KLNP-S-NEW {rules.SET_TYPE} -exist"
    assert "add KLNP-S-NEW 10.0.0.0/8 -exist" in lines
    swap = lines.index("swap KLNP-SWAP KLNP-S-OLD")
    assert lines[swap - 2 : swap] == ["add KLNP-SWAP 10.1.1.1/32 -exist", "add KLNP-SWAP 10.1.1.2/32 -exist"]
    assert lines[-2:] == ["destroy KLNP-SWAP", "destroy KLNP-S-GONE"]
    assert rules.ipset_restore({}, (), (), ()) == ""


def test_set_members_are_canonical_text() -> None:
    plan = sample_plan()
    members = rules.set_members(plan)
    egress = members[rules.set_name("shop/web/egress/0")]
    assert "10.9.0.0/16" not in egress and "10.0.0.0/13" in egress
    bad: Any = "10.0.0.0/8 -j ACCEPT"
    skipped = rules.set_members(Plan(sets={"k": [ipaddress.IPv4Network("10.0.0.0/8"), bad]}))
    assert skipped == {rules.set_name("k"): frozenset({"10.0.0.0/8"})}
