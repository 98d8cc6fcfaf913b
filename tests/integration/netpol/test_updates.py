"""kube-netpol on a node of network namespaces, continued: a namespaceSelector and a podSelector in one peer, label
changes of pods and namespaces enforced within a second, a default deny of egress with an exception, one restore per
sync (never a rule-by-rule command), and the Events the agent writes as its own identity about an entry it skips.
Real iptables, real ipsets, real packets, only between this test's namespaces."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.integration.netpol.netns import NetnsNode, create, label, namespace, two_servers_and_a_client
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]

# The target for a policy, pod label or namespace label change; the probe (a Python process started in a
# pod's namespace) takes part of it.
WITHIN = 1.0


def enforced_in(check: Callable[[], bool], what: str) -> float:
    """Seconds from now until `check` holds (polled without pause; fails after 5 s)."""
    start = time.monotonic()
    wait_until(check, 5, what=what)
    return time.monotonic() - start


def pods_path(ns: str, name: str) -> str:
    return f"/api/v1/namespaces/{ns}/pods/{name}"


def test_namespace_and_pod_selector_in_one_peer_and_label_changes(node: NetnsNode) -> None:
    home = namespace(node)
    blue, red = namespace(node, team="blue"), namespace(node, team="red")
    server = node.add_pod("server", 20, {"app": "server"}, home)
    node.add_pod("blue-client", 10, {"role": "client"}, blue, serve=False)
    node.add_pod("blue-other", 11, {}, blue, serve=False)
    node.add_pod("red-client", 12, {"role": "client"}, red, serve=False)
    node.start_agent()
    peer = {
        "namespaceSelector": {"matchLabels": {"team": "blue"}},
        "podSelector": {"matchLabels": {"role": "client"}},
    }
    create(
        node,
        home,
        "blue-clients",
        {"podSelector": {"matchLabels": {"app": "server"}}, "ingress": [{"from": [peer]}]},
    )
    wait_until(lambda: node.reach("blue-other", server, 8080) == "refused", 5, what="the policy in force")
    assert node.reach("blue-client", server, 8080) == "open"  # both selectors match
    assert node.reach("red-client", server, 8080) == "refused"  # the pod matches, its namespace does not

    label(node, f"/api/v1/namespaces/{red}", team="blue")
    took = enforced_in(
        lambda: node.reach("red-client", server, 8080) == "open", "a namespace label letting in"
    )
    assert took < WITHIN, f"a namespace label change took {took:.2f}s"

    label(node, pods_path(blue, "blue-client"), role=None)
    took = enforced_in(
        lambda: node.reach("blue-client", server, 8080) == "refused", "a pod label shutting out"
    )
    assert took < WITHIN, f"a pod label change took {took:.2f}s"

    label(node, pods_path(blue, "blue-other"), role="client")
    took = enforced_in(lambda: node.reach("blue-other", server, 8080) == "open", "a pod label letting in")
    assert took < WITHIN, f"a pod label change took {took:.2f}s"


def test_default_deny_of_egress_with_one_exception(node: NetnsNode) -> None:
    ns, server, other = two_servers_and_a_client(node, "client")
    assert node.reach("client", other, 8080) == "open"

    create(
        node, ns, "no-egress", {"podSelector": {"matchLabels": {"role": "client"}}, "policyTypes": ["Egress"]}
    )
    took = enforced_in(lambda: node.reach("client", server, 8080) != "open", "egress denied")
    assert took < WITHIN, f"a new policy took {took:.2f}s"
    assert node.reach("client", other, 8080) != "open"
    assert node.reach("client", server, 5353, "udp") != "open"
    assert node.reach("server", other, 8080) == "open"  # only the selected pod is isolated

    create(
        node,
        ns,
        "to-server",
        {
            "podSelector": {"matchLabels": {"role": "client"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": server + "/32"}}], "ports": [{"port": 8080}]}],
        },
    )
    wait_until(lambda: node.reach("client", server, 8080) == "open", 5, what="the exception")
    assert node.reach("client", server, 9090) != "open"
    assert node.reach("client", other, 8080) != "open"


def _restores(node: NetnsNode) -> tuple[float, float, float]:
    assert node.agent is not None
    m = node.agent.metrics()
    return (
        m["netpol_sync_duration_seconds_count"],
        m.get('netpol_restores_total{tool="iptables"}', 0.0),
        m.get('netpol_restores_total{tool="ipset"}', 0.0),
    )


def _settled(node: NetnsNode) -> Callable[[], bool]:
    """True once the agent's sync count has not moved since the previous call (it is idle)."""
    last: list[float] = []

    def check() -> bool:
        now = _restores(node)[0]
        quiet = bool(last) and last[-1] == now
        last.append(now)
        return quiet

    return check


def test_each_sync_is_one_restore_and_never_a_rule_by_rule_command(node: NetnsNode) -> None:
    ns = namespace(node)
    server = node.add_pod("server", 20, {"app": "server"}, ns)
    node.add_pod("a", 10, {}, ns, serve=False)
    node.start_agent()
    create(
        node,
        ns,
        "allow-friends",
        {
            "podSelector": {"matchLabels": {"app": "server"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"friend": "yes"}}}]}],
        },
    )
    wait_until(lambda: node.reach("a", server, 8080) == "refused", 5, what="the policy in force")
    wait_until(_settled(node), 5, 0.3, what="the agent idle")  # its sync period is 5 s, min 0.2 s
    syncs, iptables, ipsets = _restores(node)
    calls = len(node.calls())

    # A label that moves a pod into a peer set: a set changes, the rules do not.
    label(node, pods_path(ns, "a"), friend="yes")
    wait_until(lambda: node.reach("a", server, 8080) == "open", 5, what="the new friend let in")
    # The set is in force as soon as `ipset restore` returns; the sync is counted a moment later, when it ends.
    wait_until(lambda: _restores(node)[0] > syncs, 5, what="the sync counted")
    syncs_after, iptables_after, ipsets_after = _restores(node)
    assert ipsets_after - ipsets <= syncs_after - syncs and ipsets_after > ipsets
    assert iptables_after == iptables, "only a set changed: no iptables-restore"

    # A policy change: its chains are rewritten, in one iptables-restore per sync.
    create(node, ns, "deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    wait_until(lambda: node.reach("a", server, 8080) != "open", 5, what="the egress deny on a")
    wait_until(lambda: _restores(node)[0] > syncs_after, 5, what="the sync counted")
    syncs_end, iptables_end, _ = _restores(node)
    assert 1 <= iptables_end - iptables_after <= syncs_end - syncs_after

    made = node.calls()[calls:]
    assert made, "the agent ran no command"
    for call in made:
        tool, *args = call.split()
        assert tool in ("iptables", "iptables-save", "iptables-restore", "ipset"), call
        if tool == "iptables":
            assert "-S" in args, f"a rule-by-rule command: {call}"  # it only reads FORWARD's order
        if tool == "ipset":
            assert args[:1] in (["restore"], ["list"], ["save"]), f"a set-by-set command: {call}"


def test_a_skipped_entry_is_an_event_written_as_the_agent(node: NetnsNode) -> None:
    ns = namespace(node)
    server = node.add_pod("server", 20, {"app": "server"}, ns)
    node.add_pod("a", 10, {"role": "client"}, ns, serve=False)
    node.add_pod("b", 11, {}, ns, serve=False)
    node.start_agent()
    # Valid for the API; the agent programs IPv4 only, so this peer is skipped and the other one applies.
    peers = [{"ipBlock": {"cidr": "fd00:10::/64"}}, {"podSelector": {"matchLabels": {"role": "client"}}}]
    create(
        node, ns, "mixed", {"podSelector": {"matchLabels": {"app": "server"}}, "ingress": [{"from": peers}]}
    )
    wait_until(lambda: node.reach("b", server, 8080) == "refused", 5, what="the rest of the policy in force")
    assert node.reach("a", server, 8080) == "open"

    def skipped() -> list[dict]:
        r = node.api.get(f"/api/v1/namespaces/{ns}/events")
        assert r.status_code == 200, r.text
        return [e for e in r.json()["items"] if e.get("reason") == "PolicyEntrySkipped"]

    wait_until(lambda: len(skipped()) == 1, 5, what="the Event")
    event = skipped()[0]
    assert event["type"] == "Warning" and event["involvedObject"]["name"] == "mixed"
    assert "fd00:10::/64" in event["message"] and event["source"]["component"] == "kube-netpol"
    assert event["count"] == 1 and event["source"]["host"] == node.node_name

    # A new version with the same problem: the same Event again, counted by a patch.
    label(node, f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/mixed", touched="yes")
    wait_until(lambda: [e.get("count") for e in skipped()] == [2], 5, what="the repeat counted")
