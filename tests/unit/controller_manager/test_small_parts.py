"""CIDR allocation, expectations, taints and tolerations, the token bucket, --controllers and durations."""

from datetime import UTC, datetime, timedelta

import pytest

from controller_manager import taints
from controller_manager.__main__ import duration
from controller_manager.cidr import CIDRAllocator, CIDRExhaustedError
from controller_manager.expectations import Expectations
from controller_manager.manager import ALIASES, CONTROLLERS, DESCRIPTORS, select_controllers
from controller_manager.node_lifecycle import TokenBucket
from controller_manager.podutil import format_micro_time

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_cidr_allocation_in_order_with_occupied_and_release():
    a = CIDRAllocator("10.244.0.0/16", 24)
    assert a.occupy("10.244.1.0/24")
    assert not a.occupy("192.168.0.0/24")
    assert a.allocate() == "10.244.0.0/24"
    assert a.allocate() == "10.244.2.0/24"
    a.release("10.244.0.0/24")
    assert a.allocate() == "10.244.3.0/24"  # round-robin, like Kubernetes' cidrset
    small = CIDRAllocator("10.0.0.0/23", 24)
    small.allocate()
    small.allocate()
    with pytest.raises(CIDRExhaustedError):
        small.allocate()


def test_expectations_creations_deletions_and_ttl():
    t = [0.0]
    e = Expectations(ttl=10, clock=lambda: t[0])
    assert e.satisfied("rs")
    e.expect_creations("rs", 2)
    assert not e.satisfied("rs")
    e.creation_observed("rs")
    e.creation_observed("rs")
    assert e.satisfied("rs")
    e.expect_deletions("rs", ["ns/a", "ns/b"])
    e.deletion_observed("rs", "ns/a")
    e.deletion_observed("rs", "ns/a")  # observed twice (deletionTimestamp, then DELETED): counts once
    assert not e.satisfied("rs")
    t[0] = 11
    assert e.satisfied("rs")  # expired


def test_taints_follow_ready_condition():
    user = {"key": "dedicated", "effect": "NoSchedule"}
    unknown = taints.reconcile_taints([user], "Unknown", AT)
    assert user in unknown
    assert {(t["key"], t["effect"]) for t in unknown if t is not user} == {
        (taints.UNREACHABLE, "NoSchedule"),
        (taints.UNREACHABLE, "NoExecute"),
    }
    assert next(t for t in unknown if t["effect"] == "NoExecute")["timeAdded"] == format_micro_time(AT)
    not_ready = taints.reconcile_taints(unknown, "False", AT)
    assert {t["key"] for t in not_ready} == {"dedicated", taints.NOT_READY}
    assert taints.reconcile_taints(not_ready, "True", AT) == [user]


def test_tolerations_and_eviction_time():
    node_taints = taints.reconcile_taints([], "Unknown", AT - timedelta(seconds=10))
    none = {"spec": {}}
    assert taints.eviction_time(none, node_taints, AT) == AT
    short = {
        "spec": {
            "tolerations": [
                {
                    "key": taints.UNREACHABLE,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 30,
                }
            ]
        }
    }
    assert taints.eviction_time(short, node_taints, AT) == AT + timedelta(seconds=20)
    forever = {"spec": {"tolerations": [{"operator": "Exists"}]}}
    assert taints.eviction_time(forever, node_taints, AT) is None
    wrong = {"spec": {"tolerations": [{"key": taints.NOT_READY, "operator": "Exists"}]}}
    assert taints.eviction_time(wrong, node_taints, AT) == AT
    assert taints.tolerates({"key": "k", "value": "v"}, {"key": "k", "value": "v", "effect": "NoExecute"})
    assert not taints.tolerates({"key": "k", "value": "w"}, {"key": "k", "value": "v", "effect": "NoExecute"})


def test_token_bucket():
    t = [0.0]
    b = TokenBucket(rate=0.5, burst=1, clock=lambda: t[0])
    assert b.take() == 0
    assert b.take() == pytest.approx(2.0)
    t[0] = 2.0
    assert b.take() == 0


def test_select_controllers():
    assert select_controllers("*") == [
        "replicaset",
        "deployment",
        "endpoints",
        "endpointslice",
        "node-lifecycle",
        "node-ipam",
        "garbage-collector",
        "namespace",
        "replicationcontroller",
        "daemonset",
        "statefulset",
        "job",
        "cronjob",
        "ttl-after-finished",
        "serviceaccount",
        "root-ca-cert-publisher",
        "clusterrole-aggregation",
        "persistentvolume-binder",
        "volume-protection",
        "horizontal-pod-autoscaler",
        "csrapproving",
        "csrsigning",
        "bootstrapsigner",
        "tokencleaner",
    ]
    everything = select_controllers("*")
    dropped = {"node-ipam", "garbage-collector", "serviceaccount"}  # upstream's names and ours both work
    assert select_controllers("*,-node-ipam,-garbagecollector,-serviceaccount-controller") == [
        name for name in everything if name not in dropped
    ]
    assert select_controllers("replicaset,deployment-controller") == ["replicaset", "deployment"]
    with pytest.raises(ValueError):
        select_controllers("nope")


def test_controller_descriptors():
    names = [d.name for d in DESCRIPTORS]
    assert len(set(names)) == len(names) and not set(ALIASES) & set(names)
    assert all(d.workers >= 1 for d in DESCRIPTORS)
    # The binder matches claims over every volume: two workers could bind two claims to one volume.
    assert CONTROLLERS["persistentvolume-binder"].workers == 1
    assert CONTROLLERS["replicaset"].workers == 5  # kube-controller-manager's ConcurrentRSSyncs


def test_duration():
    assert duration("40s") == 40
    assert duration("1m30s") == 90
    assert duration("500ms") == 0.5
    assert duration("2.5") == 2.5
