"""kube-netpol on a node of network namespaces (no Docker): ipBlock with except, UDP, wide port ranges, egress to a
named port, a killed agent (its rules stay; the next one removes what is stale), one agent per namespace, and
--cleanup refusing to run under a live agent. Real iptables, real ipsets, real packets."""

from __future__ import annotations

import signal

import pytest

from tests.integration.netpol.helpers import NetpolProc, forward_rules, iptables_lines, our_sets
from tests.integration.netpol.netns import NetnsNode, create, delete, namespace, two_servers_and_a_client
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]


def test_ip_block_with_except_and_ports_on_the_wire(node: NetnsNode) -> None:
    ns = namespace(node)
    server = node.add_pod("server", 20, {"app": "server"}, ns)
    for host, name in ((10, "a"), (11, "b"), (12, "c")):
        node.add_pod(name, host, {}, ns, serve=False)
    node.start_agent()
    assert node.reach("b", server, 8080) == "open"
    create(
        node,
        ns,
        "block",
        {
            "podSelector": {"matchLabels": {"app": "server"}},
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": node.ip(0) + "/24", "except": [node.ip(11) + "/32"]}}],
                    "ports": [{"port": 8080}],
                }
            ],
        },
    )
    wait_until(lambda: node.reach("b", server, 8080) == "refused", 5, what="the except refusing b")
    assert node.reach("a", server, 8080) == "open"
    assert node.reach("c", server, 8080) == "open"
    assert node.reach("a", server, 9090) == "refused"  # only the listed port
    lines = iptables_lines(node.netns)
    assert any(line.startswith("-A FORWARD") and "KLNP-FORWARD" in line for line in lines)
    assert node.agent is not None and node.agent.metrics()['netpol_isolated_pods{direction="ingress"}'] == 1


def test_udp_and_a_wide_port_range(node: NetnsNode) -> None:
    ns = namespace(node)
    server = node.add_pod("server", 20, {"app": "server"}, ns)
    node.add_pod("a", 10, {"role": "dns"}, ns, serve=False)
    node.add_pod("c", 12, {"role": "web"}, ns, serve=False)
    node.start_agent()
    create(
        node,
        ns,
        "mixed",
        {
            "podSelector": {"matchLabels": {"app": "server"}},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "dns"}}}],
                    "ports": [{"protocol": "UDP", "port": 5353}],
                },
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "web"}}}],
                    "ports": [{"port": 7000, "endPort": 8500}],
                },
            ],
        },
    )
    wait_until(lambda: node.reach("c", server, 9090) == "refused", 5, what="the policy in force")
    assert node.reach("c", server, 8080) == "open" and node.reach("c", server, 7000) == "open"
    assert node.reach("a", server, 5353, "udp") == "open"
    assert node.reach("c", server, 5353, "udp") == "refused"
    assert node.reach("a", server, 8080) == "refused"
    sets = our_sets(node.netns)
    assert any(members == {node.ip(10) + ",udp:5353"} for members in sets.values()), sets


def test_egress_to_a_named_port_of_selected_pods(node: NetnsNode) -> None:
    ns, server, other = two_servers_and_a_client(node, "a")
    create(
        node,
        ns,
        "egress",
        {
            "podSelector": {"matchLabels": {"role": "client"}},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": {"app": "server"}}}], "ports": [{"port": "web"}]}
            ],
        },
    )
    wait_until(lambda: node.reach("a", other, 8080) == "refused", 5, what="egress to other refused")
    assert node.reach("a", server, 8080) == "open"  # "web" is 8080 on the server
    assert node.reach("a", server, 9090) == "refused"


def deny_all(node: NetnsNode) -> tuple[str, str, NetpolProc]:
    """A namespace with pods "server" and "a", and a running agent enforcing a deny-all policy there:
    (namespace, the server's address, the agent)."""
    ns = namespace(node)
    server = node.add_pod("server", 20, {"app": "server"}, ns)
    node.add_pod("a", 10, {}, ns, serve=False)
    agent = node.start_agent()
    create(node, ns, "deny", {"podSelector": {}})
    wait_until(lambda: node.reach("a", server, 8080) == "refused", 5, what="the deny")
    return ns, server, agent


def test_a_killed_agent_leaves_its_rules_and_the_next_removes_what_is_stale(node: NetnsNode) -> None:
    ns, server, agent = deny_all(node)
    agent.stop(signal.SIGKILL)
    assert node.reach("a", server, 8080) == "refused"  # fail closed while no agent runs
    delete(node, ns, "deny")
    stale_chains = {line.split()[0] for line in iptables_lines(node.netns) if line.startswith(":KLNP-POD-")}
    stale_sets = set(our_sets(node.netns))
    assert stale_chains and stale_sets
    agent.discard_log()
    node.start_agent("--sync-period", "1")
    wait_until(
        lambda: node.reach("a", server, 8080) == "open", 5, what="the new agent removing the stale rules"
    )
    assert not any(line.split()[0] in stale_chains for line in iptables_lines(node.netns))
    wait_until(
        lambda: not (set(our_sets(node.netns)) & stale_sets), 5, what="the stale sets destroyed a sync later"
    )


def test_one_agent_per_namespace_and_no_cleanup_under_a_live_one(node: NetnsNode) -> None:
    _, server, first = deny_all(node)
    second = NetpolProc(
        first.client_args, first.node_names, lock_file=first.lock_file, path_prefix=first.path_prefix
    )
    second.start(wait=False)
    try:
        wait_until(
            lambda: "another kube-netpol programs this network namespace" in second.logs(),
            5,
            what="the second waiting",
        )
        assert not second.healthy()
        refused = first.run_cleanup()
        assert refused.returncode == 1 and "holds the lock" in refused.stderr
        assert iptables_lines(node.netns)
        first.stop()
        wait_until(lambda: second.healthy(), 15, what="the second taking over")
        assert node.reach("a", server, 8080) == "refused"
    finally:
        second.stop()
        second.discard_log()
    done = second.run_cleanup()
    assert done.returncode == 0, done.stderr
    assert iptables_lines(node.netns) == [] and our_sets(node.netns) == {}
    assert not any("KLNP" in line for line in forward_rules(node.netns))
    assert node.reach("a", server, 8080) == "open"
