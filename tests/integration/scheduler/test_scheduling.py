"""kube-scheduler against the real apiserver, with hollow nodes: where pods land and what they say when they can't."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.components import Component
from tests.integration.scheduler.helpers import Api, make_pod
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.slow]

TAINT_MSG = "node(s) had untolerated taint {dedicated: infra}"
AFFINITY_MSG = "node(s) didn't match Pod's node affinity/selector"
PORTS_MSG = "node(s) didn't have free ports for the requested pod ports"


def failure_message(api: Api, ns: str, name: str) -> str:
    def condition() -> str | None:
        pod = api.pod(ns, name) or {}
        for c in pod.get("status", {}).get("conditions", []):
            if c["type"] == "PodScheduled" and c["status"] == "False" and c.get("reason") == "Unschedulable":
                return str(c["message"])
        return None

    return wait_until(condition, 10, what=f"{name} unschedulable")  # type: ignore[no-any-return]


def test_pods_land_only_on_fitting_nodes_without_double_booking(
    api: Api, scheduler: Component, hollow, ns: str
) -> None:
    hollow(2, "small-", "--cpu", "1")
    hollow(1, "big-", "--cpu", "8")
    for i in range(4):  # created back to back: the assume cache must count binds still in flight
        api.create_pod(ns, make_pod(f"p{i}", cpu="2"))
    assert {api.wait_bound(ns, f"p{i}") for i in range(4)} == {"big-0"}
    api.create_pod(ns, make_pod("too-many", cpu="2"))
    assert failure_message(api, ns, "too-many") == "0/3 nodes are available: 3 Insufficient cpu."
    assert api.node_of(ns, "too-many") is None


def test_taints_selectors_affinity_and_host_ports(api: Api, scheduler: Component, hollow, ns: str) -> None:
    hollow(1, "tainted-", "--taint", "dedicated=infra:NoSchedule")
    hollow(1, "ssd-", "--labels", "disk=ssd")
    hollow(1, "plain-")

    api.create_pod(ns, make_pod("selector", nodeSelector={"disk": "ssd"}))
    assert api.wait_bound(ns, "selector") == "ssd-0"

    to_tainted = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["tainted-0"]}]}
                ]
            }
        }
    }
    toleration = [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]
    api.create_pod(ns, make_pod("tolerating", affinity=to_tainted, tolerations=toleration))
    assert api.wait_bound(ns, "tolerating") == "tainted-0"
    api.create_pod(ns, make_pod("intolerant", affinity=to_tainted))
    assert (
        failure_message(api, ns, "intolerant") == f"0/3 nodes are available: 1 {TAINT_MSG}, 2 {AFFINITY_MSG}."
    )

    not_ssd = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "DoesNotExist"}]}]
            }
        }
    }
    api.create_pod(ns, make_pod("no-ssd", affinity=not_ssd))
    assert api.wait_bound(ns, "no-ssd") == "plain-0"

    api.create_pod(ns, make_pod("port-1", host_port=8080))
    api.create_pod(ns, make_pod("port-2", host_port=8080))
    assert {api.wait_bound(ns, "port-1"), api.wait_bound(ns, "port-2")} == {"ssd-0", "plain-0"}
    api.create_pod(ns, make_pod("port-3", host_port=8080))
    assert failure_message(api, ns, "port-3") == f"0/3 nodes are available: 1 {TAINT_MSG}, 2 {PORTS_MSG}."

    prefers_ssd = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "preference": {
                        "matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]
                    },
                }
            ]
        }
    }
    api.create_pod(ns, make_pod("prefers", affinity=prefers_ssd))
    assert api.wait_bound(ns, "prefers") == "ssd-0"


def test_unschedulable_pod_reports_then_lands_when_a_node_appears(
    api: Api, scheduler: Component, hollow, ns: str
) -> None:
    hollow(2, "other-")
    api.create_pod(ns, make_pod("waiting", nodeSelector={"pool": "late"}))
    expected = f"0/2 nodes are available: 2 {AFFINITY_MSG}."
    # The pod and the nodes reach the scheduler through two watches, with no order between them: it may try the
    # pod before it has seen the second node ("0/1"); that node's arrival brings the pod back, counted right.
    wait_until(
        lambda: failure_message(api, ns, "waiting") == expected, 10, what="the message counting 2 nodes"
    )
    events = wait_until(
        lambda: [e for e in api.events(ns, "FailedScheduling") if e["message"] == expected],
        10,
        what="FailedScheduling event",
    )
    assert events[0]["type"] == "Warning"
    assert events[0]["involvedObject"]["name"] == "waiting"

    started = time.monotonic()
    hollow(1, "late-", "--labels", "pool=late")  # returns once the node is Ready
    assert api.wait_bound(ns, "waiting", timeout=5) == "late-0"
    assert time.monotonic() - started < 8  # the node event, not a 5-minute flush, woke it up
    scheduled = wait_until(lambda: api.events(ns, "Scheduled"), 10, what="Scheduled event")
    assert scheduled[0]["message"] == f"Successfully assigned {ns}/waiting to late-0"


def test_pods_of_one_owner_spread_over_nodes(api: Api, scheduler: Component, hollow, ns: str) -> None:
    # One roomy node that least-allocated alone would prefer for every pod; spreading must win.
    hollow(1, "roomy-", "--cpu", "32", "--memory", "128Gi")
    hollow(3, "spread-")
    owner = {
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-abc",
                "uid": str(uuid.uuid4()),
                "controller": True,
            }
        ],
        "labels": {"app": "web"},
    }
    for i in range(8):
        api.create_pod(ns, make_pod(f"web-{i}", cpu="500m", metadata=owner))
    placement = Counter(api.wait_bound(ns, f"web-{i}") for i in range(8))
    assert sorted(placement.values()) == [2, 2, 2, 2], placement


def test_healthz_and_metrics(api: Api, scheduler: Component) -> None:
    base = f"http://127.0.0.1:{scheduler.port}"
    assert httpx.get(base + "/healthz").text == "ok"
    metrics = httpx.get(base + "/metrics").text
    assert 'scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"}' in metrics
    assert 'scheduler_schedule_attempts_total{profile="default-scheduler",result="unschedulable"}' in metrics
    assert "scheduler_e2e_scheduling_duration_seconds" not in metrics, "removed upstream in 1.29"
    assert (
        'scheduler_scheduling_attempt_duration_seconds_bucket{le="0.001",profile="default-scheduler",result="scheduled"}'
        in metrics
    )
    assert 'scheduler_pod_scheduling_sli_duration_seconds_count{attempts="1"}' in metrics
    assert 'scheduler_pending_pods{queue="unschedulable"}' in metrics
