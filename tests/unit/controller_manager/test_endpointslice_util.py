"""EndpointSlices from pods, and the plan that brings a Service's slices there (controller_manager.endpointslice_util),
plus the validation, defaults and table row of the kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from apimachinery.defaults import apply_defaults
from apimachinery.resources import must_resource
from apimachinery.validation import validate
from apiserver.printers import to_table
from controller_manager import endpointslice_util as esu
from tests.factories import Obj


def svc(**spec: Any) -> Obj:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"tier": "fe"}},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            **spec,
        },
    }


def pod(name: str, ip: str, ready: bool = True, port: int = 8080, **extra: Any) -> Obj:
    meta = {"name": name, "namespace": "ns", "uid": f"uid-{name}", **extra.pop("meta", {})}
    return {
        "metadata": meta,
        "spec": {
            "nodeName": "n1",
            "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port}]}],
            **extra,
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def test_endpoints_carry_conditions_target_node_zone_and_hostname() -> None:
    nodes = {"n1": {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "z1"}}}}
    pods = [
        pod("a", "10.0.0.1"),
        pod("b", "10.0.0.2", ready=False),
        pod("c", "10.0.0.3", meta={"deletionTimestamp": "2026-01-01T00:00:00Z"}),
        pod("d", "10.0.0.4", hostname="d", subdomain="web"),
        {**pod("done", "10.0.0.9"), "status": {"phase": "Succeeded", "podIP": "10.0.0.9"}},
    ]
    [(key, eps)] = esu.desired_endpoints(svc(), pods, nodes).items()
    assert key[0] == "IPv4"
    by_name = {e["targetRef"]["name"]: e for e in eps}
    assert set(by_name) == {"a", "b", "c", "d"}
    assert by_name["a"] == {
        "addresses": ["10.0.0.1"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"},
        "nodeName": "n1",
        "zone": "z1",
    }
    assert by_name["b"]["conditions"] == {"ready": False, "serving": False, "terminating": False}
    assert by_name["c"]["conditions"] == {"ready": False, "serving": True, "terminating": True}
    assert by_name["d"]["hostname"] == "d"
    published = esu.desired_endpoints(svc(publishNotReadyAddresses=True), [pods[1]], {})
    [eps] = published.values()
    assert eps[0]["conditions"]["ready"] is True


def test_endpoints_are_grouped_by_the_ports_their_pods_serve() -> None:
    groups = esu.desired_endpoints(svc(), [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", port=9090)], {})
    ports = sorted([p["port"] for p in json.loads(k[1])] for k in groups)
    assert ports == [[8080], [9090]]


def test_plan_creates_slices_of_at_most_max_with_labels_and_owner() -> None:
    eps = esu.desired_endpoints(svc(), [pod(f"p{i}", f"10.0.0.{i + 1}") for i in range(5)], {})
    plan = esu.plan(svc(), eps, [], max_per_slice=2)
    assert [len(s["endpoints"]) for s in plan.create] == [2, 2, 1] and not plan.update and not plan.delete
    s = plan.create[0]
    assert s["metadata"]["generateName"] == "web-"
    assert s["metadata"]["labels"] == {
        "tier": "fe",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    assert s["metadata"]["ownerReferences"][0]["uid"] == "svc-uid"
    assert s["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def _stored(slices: list[Obj]) -> list[Obj]:
    return [{**s, "metadata": {**s["metadata"], "name": f"web-{i}"}} for i, s in enumerate(slices)]


def test_plan_keeps_endpoints_where_they_are_and_fills_before_creating() -> None:
    first = esu.desired_endpoints(svc(), [pod(f"p{i}", f"10.0.0.{i + 1}") for i in range(4)], {})
    existing = _stored(esu.plan(svc(), first, [], max_per_slice=2).create)
    assert esu.plan(svc(), first, existing, max_per_slice=2).update == []
    # p0 goes, p9 comes: only the first slice changes (p9 takes p0's place); nothing is created or deleted.
    second = esu.desired_endpoints(
        svc(), [pod(f"p{i}", f"10.0.0.{i + 1}") for i in (1, 2, 3)] + [pod("p9", "10.0.0.99")], {}
    )
    plan = esu.plan(svc(), second, existing, max_per_slice=2)
    assert not plan.create and not plan.delete
    assert [s["metadata"]["name"] for s in plan.update] == ["web-0"]
    assert [e["targetRef"]["name"] for e in plan.update[0]["endpoints"]] == ["p1", "p9"]


def test_plan_without_endpoints_keeps_one_placeholder() -> None:
    plan = esu.plan(svc(), {}, [])
    [placeholder] = plan.create
    assert (
        placeholder["endpoints"] == [] and placeholder["ports"] == [] and placeholder["addressType"] == "IPv4"
    )
    existing = _stored(esu.plan(svc(), esu.desired_endpoints(svc(), [pod("a", "10.0.0.1")], {}), []).create)
    plan = esu.plan(svc(), {}, existing + _stored([placeholder])[:1])
    assert len(plan.delete) == 1 and not plan.create


def test_headless_services_mark_their_slices() -> None:
    assert esu.slice_labels(svc(clusterIP="None"))["service.kubernetes.io/headless"] == ""


def slice_obj(**extra: Any) -> Obj:
    obj: Obj = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-x", "namespace": "ns"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"]}],
        "ports": [{"port": 80}],
    }
    obj.update(extra)
    return apply_defaults(obj)


def test_ports_are_defaulted_and_slices_validated_as_upstream() -> None:
    obj = slice_obj()
    assert obj["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    assert validate(obj) == []
    bad = slice_obj(
        addressType="IPv6",
        endpoints=[
            {"addresses": ["10.0.0.1"]},
            {"addresses": []},
            {"addresses": ["fe80::1"], "hostname": "A"},
        ],
        ports=[{"name": "x", "port": 1, "protocol": "TCP"}, {"name": "x", "port": 2, "protocol": "QUIC"}],
    )
    assert {(c["field"], c["reason"]) for c in validate(bad)} == {
        ("endpoints[0].addresses[0]", "FieldValueInvalid"),
        ("endpoints[1].addresses", "FieldValueRequired"),
        ("endpoints[2].addresses[0]", "FieldValueInvalid"),
        ("endpoints[2].hostname", "FieldValueInvalid"),
        ("ports[1].name", "FieldValueDuplicate"),
        ("ports[1].protocol", "FieldValueNotSupported"),
    }
    too_many = slice_obj(endpoints=[{"addresses": ["10.0.0.1"]}] * 1001)
    assert [c["message"] for c in validate(too_many)] == ["Too many: 1001: must have at most 1000 items"]
    changed = validate(slice_obj(addressType="IPv6", endpoints=[]), slice_obj())
    assert ("addressType", "FieldValueInvalid") in {(c["field"], c["reason"]) for c in changed}


def test_table_row_is_kubectls() -> None:
    obj = slice_obj(
        endpoints=[{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)],
        ports=[{"port": 80}, {"name": "dns"}, {}, {"port": 8080}],
    )
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    row = to_table(
        must_resource("discovery.k8s.io", "endpointslices"), [obj], now=datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    )["rows"][0]["cells"]
    assert row == ["web-x", "IPv4", "80,dns, + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "5m"]
