"""From policies, pods and namespaces to chains and sets: who is isolated, whose addresses are allowed, and what a
named port means on each pod."""

from __future__ import annotations

import ipaddress
from typing import Any

from netpol import plan as planning
from netpol.policy import parse_policy
from netpol.selection import Cluster, exclude, pod_info
from tests.factories import Obj

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


def only(plan: planning.Plan, pod: str, direction: str = "ingress") -> planning.PodRules:
    (found,) = [p for p in plan.pods if p.pod == pod and p.direction == direction]
    return found


def test_default_deny_isolates_only_local_selected_pods() -> None:
    plan = build(netpol({"podSelector": {}}))
    assert {(p.pod, p.direction) for p in plan.pods} == {
        ("app/server", "ingress"),
        ("app/client", "ingress"),
        ("app/other", "ingress"),
    }
    server = only(plan, "app/server")
    assert not server.allow_all and not server.any_port and not server.pairs and not server.ranges
    assert plan.policies == 1


def test_pod_selector_peers_are_the_namespace_pods_on_every_node() -> None:
    plan = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}],
            }
        )
    )
    assert [p.pod for p in plan.pods] == ["app/server"]
    # Any port, from the clients of the policy's namespace on both nodes (not the guest of another namespace).
    assert plan.pods[0].any_port == set(nets("10.244.1.3/32", "10.244.2.5/32"))


def test_namespace_selector_alone_and_combined() -> None:
    def peers(peer: Obj) -> set[ipaddress.IPv4Network]:
        spec = {"podSelector": {"matchLabels": {"app": "server"}}, "ingress": [{"from": [peer]}]}
        return only(build(netpol(spec)), "app/server").any_port

    assert peers({"namespaceSelector": {"matchLabels": {"team": "blue"}}}) == set(nets("10.244.2.6/32"))
    combined = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "client"}}}
    assert peers(combined) == set(nets("10.244.1.3/32", "10.244.2.5/32", "10.244.2.6/32"))
    by_name = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "guests"}}}
    assert peers(by_name) == set(nets("10.244.2.6/32"))
    assert peers({"namespaceSelector": {"matchLabels": {"team": "none"}}}) == set()


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
    members = only(plan, "app/server").any_port
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
    spec = {
        "podSelector": {"matchLabels": {"app": "server"}},
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                "ports": [
                    {"port": 80, "endPort": 82},
                    {"port": 1000, "endPort": 9000},
                    {"protocol": "UDP"},
                    {"port": "http"},
                ],
            }
        ],
    }
    plan = build(netpol(spec), pods=pods)
    clients = nets("10.244.1.3/32", "10.244.2.5/32")
    server = only(plan, "app/server")
    assert server.pairs == {(n, "tcp", p) for n in clients for p in (80, 81, 82, 8080)}
    assert server.protocol_any == {"udp": set(clients)}
    assert server.ranges == [planning.PortRange("tcp", 1000, 9000, tuple(clients))]
    assert {(n, p) for n, _, p in only(plan, "app/server2").pairs} >= {(clients[0], 9090)}
    assert not any(p in (8080, 9090) for _, _, p in only(plan, "app/server3").pairs)


def test_no_peers_means_anyone_and_no_rules_mean_no_one() -> None:
    anyone = build(
        netpol(
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [{"ports": [{"port": 53, "protocol": "UDP"}]}],
            }
        )
    )
    assert only(anyone, "app/server").pairs == {(n, "udp", 53) for n in planning.ANY}
    everything = build(netpol({"podSelector": {"matchLabels": {"app": "server"}}, "ingress": [{}]}))
    assert only(everything, "app/server").allow_all


def test_egress_named_port_resolves_on_each_peer() -> None:
    pods = [
        *PODS,
        pod(
            "server2",
            "10.244.2.9",
            {"app": "server"},
            node="n2",
            ports=[{"name": "http", "containerPort": 9090}],
        ),
    ]
    spec = {
        "podSelector": {"matchLabels": {"role": "client"}},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"podSelector": {"matchLabels": {"app": "server"}}}], "ports": [{"port": "http"}]}
        ],
    }
    plan = build(netpol(spec), pods=pods)
    assert {(p.pod, p.direction) for p in plan.pods} == {("app/client", "egress")}
    assert only(plan, "app/client", "egress").pairs == {
        (ipaddress.IPv4Network("10.244.1.2/32"), "tcp", 8080),
        (ipaddress.IPv4Network("10.244.2.9/32"), "tcp", 9090),
    }


def test_policies_selecting_a_pod_add_up() -> None:
    plan = build(
        netpol({"podSelector": {}}, name="b-deny"),
        netpol(
            {"podSelector": {"matchLabels": {"app": "server"}}, "ingress": [{"ports": [{"port": 80}]}]},
            name="a-web",
        ),
        netpol(
            {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Egress"]}, name="c-egress"
        ),
    )
    server = only(plan, "app/server")
    assert server.policies == ["app/a-web", "app/b-deny"]
    assert {p for _, _, p in server.pairs} == {80}
    assert only(plan, "app/server", "egress").policies == ["app/c-egress"]
    assert plan.pods[0].direction == "egress"  # egress jumps come first in FORWARD
    assert plan.policies == 3


def test_a_selected_pod_with_no_peers_yet_allows_nothing() -> None:
    spec = {
        "podSelector": {"matchLabels": {"app": "server"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "nobody"}}}]}],
    }
    server = only(build(netpol(spec)), "app/server")
    assert not server.any_port and not server.allow_all


def test_peers_that_select_nobody_allow_nobody_on_any_of_their_ports() -> None:
    spec = {
        "podSelector": {"matchLabels": {"app": "server"}},
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "nobody"}}}],
                "ports": [
                    {"port": 80},
                    {"protocol": "UDP"},
                    {"port": "http"},
                    {"port": 1000, "endPort": 2000},
                ],
            }
        ],
    }
    server = only(build(netpol(spec)), "app/server")
    assert server.pairs == set() and server.protocol_any == {"udp": set()} and not server.allow_all
    assert server.ranges == [planning.PortRange("tcp", 1000, 2000, ())]
