"""The agent reads a NetworkPolicy again: every value typed and checked, bad entries skipped, never widening."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from netpol.policy import Peer, Port, parse_peer, parse_policy, parse_port
from tests.factories import Obj


def policy(spec: Obj, name: str = "p", namespace: str = "ns") -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "uid": "u1", "resourceVersion": "7"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"port": 80}, Port("tcp", 80)),
        ({"port": 80, "protocol": "UDP"}, Port("udp", 80)),
        ({"port": 80, "endPort": 90, "protocol": "SCTP"}, Port("sctp", 80, 90)),
        ({"protocol": "UDP"}, Port("udp")),
        ({"port": "http"}, Port("tcp", name="http")),
    ],
)
def test_ports_are_typed(value: Obj, expected: Port) -> None:
    assert parse_port(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"port": 0},
        {"port": 65536},
        {"port": True},
        {"port": "80"},  # a string must be a port name, which needs a letter
        {"port": "http;reboot"},
        {"port": "http\n"},
        {"port": "a" * 16},
        {"port": 90, "endPort": 80},
        {"port": 80, "endPort": 70000},
        {"port": "http", "endPort": 90},
        {"endPort": 90},
        {"port": 80, "protocol": "ICMP"},
        {"port": 80, "protocol": "tcp"},  # the API's spelling only: the rule's comes from a fixed table
        {"port": 80.0},
        "80",
    ],
)
def test_bad_ports_are_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_port(value)


def test_ip_block_is_ipaddress_typed() -> None:
    peer = parse_peer({"ipBlock": {"cidr": "10.1.2.3/16", "except": ["10.1.128.0/17"]}})
    assert peer == Peer(
        block=ipaddress.IPv4Network("10.1.0.0/16"), excepts=(ipaddress.IPv4Network("10.1.128.0/17"),)
    )


@pytest.mark.parametrize(
    "block",
    [
        {"cidr": "010.0.0.0/8"},  # leading zeros: octal to iptables
        {"cidr": "10.0.0.0/33"},
        {"cidr": "10.0.0.0"},
        {"cidr": "10.0.0.0/255.0.0.0"},
        {"cidr": "10.0.0.0/8\n"},
        {"cidr": "10.0.0.0/8 -j ACCEPT"},
        {"cidr": "2001:db8::/32"},  # valid, but the agent programs IPv4 only
        {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]},
        {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]},
        {"cidr": "10.0.0.0/8", "except": "10.1.0.0/16"},
        {"cidr": 10},
    ],
)
def test_bad_ip_blocks_are_refused(block: Obj) -> None:
    with pytest.raises(ValueError):
        parse_peer({"ipBlock": block})


def test_peer_shapes() -> None:
    both = parse_peer({"podSelector": {"matchLabels": {"a": "b"}}, "namespaceSelector": {}})
    assert both.pods is not None and both.pods.matches({"a": "b"}) and not both.pods.matches({})
    assert both.namespaces is not None and both.namespaces.matches({"anything": "x"})
    with pytest.raises(ValueError):
        parse_peer({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}})
    with pytest.raises(ValueError):
        parse_peer({})
    with pytest.raises(ValueError):
        parse_peer({"podSelector": {"matchLabels": {"bad key!": "x"}}})
    with pytest.raises(ValueError):
        parse_peer({"podSelector": {"matchLabels": ["a"]}})


def test_policy_types_default_as_the_apiserver_defaults_them() -> None:
    only_ingress = parse_policy(policy({"podSelector": {}})).policy
    assert only_ingress is not None and only_ingress.ingress == () and only_ingress.egress is None
    both = parse_policy(policy({"podSelector": {}, "egress": [{}]})).policy
    assert both is not None and both.ingress == () and both.egress is not None and len(both.egress) == 1
    egress = parse_policy(policy({"podSelector": {}, "policyTypes": ["Egress"]})).policy
    assert egress is not None and egress.ingress is None and egress.egress == ()


def test_empty_lists_mean_any_and_missing_rules_mean_none() -> None:
    parsed = parse_policy(policy({"podSelector": {}, "ingress": [{}, {"from": [], "ports": []}]}))
    assert parsed.problems == []
    assert parsed.policy is not None
    assert [(r.peers, r.ports) for r in parsed.policy.ingress or ()] == [(None, None), (None, None)]


def test_a_bad_peer_is_skipped_and_the_rest_kept() -> None:
    parsed = parse_policy(
        policy(
            {
                "podSelector": {},
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": "bad"}}, {"podSelector": {}}], "ports": [{"port": 80}]}
                ],
            }
        )
    )
    assert parsed.policy is not None and parsed.policy.ingress is not None
    (rule,) = parsed.policy.ingress
    assert rule.peers is not None and len(rule.peers) == 1 and rule.peers[0].pods is not None
    assert len(parsed.problems) == 1 and "spec.ingress[0].from[0]" in parsed.problems[0]


@pytest.mark.parametrize(
    "rule",
    [
        {"from": [{"ipBlock": {"cidr": "bad"}}]},  # every peer skipped: not "from anywhere"
        {"ports": [{"port": 0}]},  # every port skipped: not "any port"
        {"from": "everyone"},
        {"ports": {"port": 80}},
        "allow",
    ],
)
def test_skipping_never_widens_a_rule(rule: Any) -> None:
    parsed = parse_policy(policy({"podSelector": {}, "ingress": [rule]}))
    assert parsed.policy is not None
    assert parsed.policy.ingress == ()  # the pods stay isolated; the rule allows nothing
    assert parsed.problems


def test_unreadable_pod_selector_skips_the_policy() -> None:
    parsed = parse_policy(policy({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}))
    assert parsed.policy is None and "podSelector" in parsed.problems[0]


def test_malformed_ingress_list_isolates_without_allowing() -> None:
    parsed = parse_policy(policy({"podSelector": {}, "ingress": {"from": []}}))
    assert parsed.policy is not None and parsed.policy.ingress == ()
    assert parsed.problems == ["spec.ingress is not a list"]


def test_unknown_policy_type_is_skipped() -> None:
    parsed = parse_policy(policy({"podSelector": {}, "policyTypes": ["Egress", "Sideways"]}))
    assert parsed.policy is not None and parsed.policy.egress == () and parsed.policy.ingress is None
    assert parsed.problems and "Sideways" in parsed.problems[0]
