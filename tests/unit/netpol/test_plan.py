"""From policies, pods and namespaces to chains and sets: who is isolated, whose addresses are allowed, and what a
named port means on each pod."""

from __future__ import annotations

import ipaddress
from typing import Any

from netpol import plan as planning
from netpol.policy import parse_policy
from netpol.selection import Cluster, exclude, pod_info

Obj = dict[str, Any]
NODE = "n1"


def pod(
    name: str,
    ip: str,
    labels: dict[str, str] | None = None,
    *,
    ns: str = "app",
    node: str = NODE,
    ports: list[Obj] | None = None,
    **status: Any,
) -> Obj:
    return {
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "ports": ports or []}]},
        "status": {"phase": "Running", "podIP": ip, **status},
    }


def namespace(name: str, **labels: str) -> Obj:
    return {"metadata": {"name": name, "labels": labels}}


def netpol(spec: Obj, name: str = "p", ns: str = "app") -> Any:
    parsed = parse_policy({"metadata": {"name": name, "namespace": ns}, "spec": spec})
    assert parsed.problems == [], parsed.problems
    return parsed.policy


def nets(*cidrs: str) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(c) for c in cidrs]


PODS = [
    pod("server", "10.244.1.2", {"app": "server"}, ports=[{"name": "http", "containerPort": 8080}]),
    pod("client", "10.244.1.3", {"role": "client"}),
    pod("other", "10.244.1.4", {}),
    pod("remote", "10.244.2.5", {"role": "client"}, node="n2"),
    pod("guest", "10.244.2.6", {"role": "client"}, ns="guests", node="n2"),
]
NAMESPACES = [namespace("app"), namespace("guests", team="blue")]


def build(*policies: Any, pods: list[Obj] = PODS) -> planning.Plan:
    return planning.build(policies, Cluster(pods, NAMESPACES), [NODE])


def test_pods_that_policies_do_not_concern() -> None:
    assert pod_info(pod("h", "10.0.0.1")) is not None
    assert pod_info({**pod("h", "10.0.0.1"), "spec": {"hostNetwork": True}}) is None
    assert pod_info(pod("done", "10.0.0.1", phase="Succeeded")) is None
    assert pod_info(pod("pending", "")) is None
    assert pod_info(pod("v6", "fd00::1")) is None
    assert pod_info(pod("zeros", "010.0.0.1")) is None
    assert pod_info(pod("junk", "10.0.0.1; reboot")) is None


def test_default_deny_isolates_only_local_selected_pods() -> None:
    plan = build(netpol({"podSelector": {}}))
    isolated = {(c.pod, c.direction) for c in plan.pod_chains}
    assert isolated == {("app/server", "ingress"), ("app/client", "ingress"), ("app/other", "ingress")}
    (chain,) = plan.policy_chains
    assert chain.rules == [] and plan.sets == {}


def test_pod_selector_peers_are_the_namespace_pods_on_every_node() -> None:
    plan = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}],
            }
        )
    )
    assert [c.pod for c in plan.pod_chains] == ["app/server"]
    (rule,) = plan.policy_chains[0].rules
    assert rule.port is None and rule.peer_set is not None
    assert plan.sets[rule.peer_set] == nets("10.244.1.3/32", "10.244.2.5/32")  # not the guest of another ns


def test_namespace_selector_alone_and_combined() -> None:
    alone = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}]}],
            }
        )
    )
    assert list(alone.sets.values()) == [nets("10.244.2.6/32")]
    combined = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [
                    {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "client"}}}]}
                ],
            }
        )
    )
    assert list(combined.sets.values()) == [nets("10.244.1.3/32", "10.244.2.5/32", "10.244.2.6/32")]
    by_name = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "guests"}}}
                        ]
                    }
                ],
            }
        )
    )
    assert list(by_name.sets.values()) == [nets("10.244.2.6/32")]


def test_ip_block_with_except_and_pods_unite() -> None:
    plan = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [
                    {
                        "from": [
                            {
                                "ipBlock": {
                                    "cidr": "192.168.0.0/16",
                                    "except": ["192.168.1.0/24", "192.168.64.0/18"],
                                }
                            },
                            {"podSelector": {"matchLabels": {"role": "client"}}},
                        ]
                    }
                ],
            }
        )
    )
    members = next(iter(plan.sets.values()))
    allowed = [
        ipaddress.IPv4Address(a) for a in ("192.168.0.1", "192.168.2.1", "192.168.200.1", "10.244.1.3")
    ]
    denied = [
        ipaddress.IPv4Address(a) for a in ("192.168.1.7", "192.168.64.1", "192.168.127.255", "10.244.1.4")
    ]
    assert all(any(a in n for n in members) for a in allowed)
    assert not any(a in n for n in members for a in denied)


def test_exclude_is_exact() -> None:
    net = ipaddress.IPv4Network("10.0.0.0/8")
    holes = nets("10.1.0.0/16", "10.1.2.0/24", "10.200.0.0/13")
    left = exclude(net, holes)
    assert sum(n.num_addresses for n in left) == net.num_addresses - 2**16 - 2**19
    assert not any(n.overlaps(h) for n in left for h in holes)


def test_ports_ranges_and_named_ports_resolved_per_pod() -> None:
    pods = [
        *PODS,
        pod("server2", "10.244.1.9", {"app": "server"}, ports=[{"name": "http", "containerPort": 9090}]),
        pod("server3", "10.244.1.10", {"app": "server"}),  # no port called http
    ]
    plan = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [
                    {
                        "ports": [
                            {"port": 80, "endPort": 90},
                            {"protocol": "UDP"},
                            {"port": "http"},
                        ]
                    }
                ],
            }
        ),
        pods=pods,
    )
    ports = [r.port for r in plan.policy_chains[0].rules]
    assert [(p.protocol, p.ports) for p in ports if p] == [
        ("tcp", (80, 90)),
        ("udp", None),
        ("tcp", (8080, 8080)),
        ("tcp", (9090, 9090)),
    ]
    named = {p.ports: plan.sets[p.dst_set] for p in ports if p and p.dst_set}
    assert named == {(8080, 8080): nets("10.244.1.2/32"), (9090, 9090): nets("10.244.1.9/32")}


def test_egress_named_port_resolves_on_the_peers() -> None:
    plan = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"role": "client"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"podSelector": {"matchLabels": {"app": "server"}}}], "ports": [{"port": "http"}]}
                ],
            }
        )
    )
    assert {(c.pod, c.direction) for c in plan.pod_chains} == {("app/client", "egress")}
    (rule,) = plan.policy_chains[0].rules
    assert rule.peer_set is None and rule.port is not None and rule.port.ports == (8080, 8080)
    assert rule.port.dst_set is not None and plan.sets[rule.port.dst_set] == nets("10.244.1.2/32")


def test_a_pod_under_several_policies_jumps_to_each_in_order() -> None:
    plan = build(
        netpol({"podSelector": {}}, name="b-deny"),
        netpol({"podSelector": {"matchLabels": {"app": "server"}}, "ingress": [{}]}, name="a-allow"),
        netpol(
            {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Egress"]}, name="c-egress"
        ),
    )
    server = {c.direction: c.policies for c in plan.pod_chains if c.pod == "app/server"}
    assert server == {
        "ingress": ["app/a-allow/ingress", "app/b-deny/ingress"],
        "egress": ["app/c-egress/egress"],
    }
    assert plan.pod_chains[0].direction == "egress"  # egress chains come first in FORWARD


def test_a_selected_pod_with_no_peers_yet_gets_an_empty_set() -> None:
    plan = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "nobody"}}}]}],
            }
        )
    )
    assert list(plan.sets.values()) == [[]]  # an empty set matches nothing: nobody is let in
