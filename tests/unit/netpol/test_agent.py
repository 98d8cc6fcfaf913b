"""The agent's decisions without I/O: which pod updates need a sync, and skipped entries reported once per version
of a policy (logged and recorded as Events through the recorder's interface)."""

from __future__ import annotations

import copy

from apimachinery.client import Client
from netpol.agent import SKIPPED, PolicyAgent, pod_fingerprint
from netpol.dataplane import DataPlane
from netpol.metrics import PolicyMetrics
from tests.factories import Obj


class Recorded:
    """An EventSink that remembers what it was given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: Obj, type: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], type, reason, message))


def agent() -> tuple[PolicyAgent, Recorded]:
    recorded = Recorded()
    metrics = PolicyMetrics()
    a = PolicyAgent(
        Client("http://127.0.0.1:9"),
        DataPlane(metrics),
        metrics,
        node_names=["n1"],
        recorder=recorded,  # type: ignore[arg-type]
    )
    return a, recorded


def policy(rv: str, cidr: str, uid: str = "u1") -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "ns", "uid": uid, "resourceVersion": rv},
        "spec": {
            "podSelector": {},
            "ingress": [{"from": [{"ipBlock": {"cidr": cidr}}, {"podSelector": {}}]}],
        },
    }


def test_a_skipped_entry_is_reported_once_per_version() -> None:
    a, recorded = agent()
    a.policies.store._put("ns/p", policy("1", "2001:db8::/32"))
    for _ in range(3):
        (parsed,) = a._policies()  # the rest of the policy still applies
        assert parsed.ingress is not None and len(parsed.ingress) == 1
    assert len(recorded.events) == 1
    name, type_, reason, message = recorded.events[0]
    assert (name, type_, reason) == ("p", "Warning", SKIPPED) and "ipBlock" in message and "n1" in message
    a.policies.store._put("ns/p", policy("2", "2001:db8::/32"))
    a._policies()
    assert len(recorded.events) == 2  # a new version of the policy: said again
    a.policies.store._put("ns/p", policy("3", "10.0.0.0/8"))
    a._policies()
    assert len(recorded.events) == 2 and a._reported == {"u1": ("3", set())}
    a.policies.store._remove("ns/p")
    a._policies()
    assert a._reported == {}  # nothing kept for policies that are gone


def test_only_updates_that_change_what_rules_depend_on_need_a_sync() -> None:
    pod = {
        "metadata": {"name": "p", "labels": {"a": "b"}, "resourceVersion": "1"},
        "spec": {"nodeName": "n1", "containers": [{"ports": [{"name": "web", "containerPort": 80}]}]},
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.1",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    heartbeat = copy.deepcopy(pod)
    heartbeat["metadata"]["resourceVersion"] = "2"
    heartbeat["status"]["conditions"][0]["status"] = "False"
    assert pod_fingerprint(heartbeat) == pod_fingerprint(pod)
    for change in (
        lambda p: p["metadata"]["labels"].update(c="d"),
        lambda p: p["status"].update(podIP="10.0.0.2"),
        lambda p: p["status"].update(phase="Succeeded"),
        lambda p: p["spec"]["containers"][0]["ports"][0].update(containerPort=81),
        lambda p: p["spec"].update(nodeName="n2"),
    ):
        changed = copy.deepcopy(pod)
        change(changed)
        assert pod_fingerprint(changed) != pod_fingerprint(pod)
