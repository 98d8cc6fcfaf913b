"""Services and Endpoints reduced to the proxy table."""

from __future__ import annotations

from typing import Any

from kube_proxy.servicemap import (
    DEFAULT_AFFINITY_SECONDS,
    Endpoint,
    build_table,
    build_table_from_slices,
    ready_endpoints,
    service_ports,
    slice_endpoints,
)
from tests.factories import Obj


def svc(name: str = "web", **spec: Any) -> Obj:
    base: Obj = {"clusterIP": "10.96.0.20", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    base.update(spec)
    return {"metadata": {"name": name, "namespace": "ns1"}, "spec": base}


def endpoints(name: str = "web", **subset: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns1"}, "subsets": [subset]}


def test_cluster_ip_service_ports() -> None:
    s = svc(ports=[{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}])
    ports = service_ports(s)
    assert [(p.name_string, p.protocol, p.port, p.node_port) for p in ports] == [
        ("ns1/web:http", "TCP", 80, 0),
        ("ns1/web:dns", "UDP", 53, 0),
    ]


def test_skipped_services() -> None:
    assert service_ports(svc(clusterIP="None")) == []
    assert service_ports(svc(clusterIP="")) == []
    assert service_ports(svc(type="ExternalName", externalName="example.invalid")) == []
    labelled = svc()
    labelled["metadata"]["labels"] = {"service.kubernetes.io/service-proxy-name": "other"}
    assert service_ports(labelled) == []


def test_node_port_and_load_balancer() -> None:
    s = svc(type="LoadBalancer", ports=[{"port": 80, "nodePort": 30080}])
    s["status"] = {"loadBalancer": {"ingress": [{"ip": "10.250.0.3"}, {"hostname": "lb.invalid"}]}}
    (p,) = service_ports(s)
    assert p.node_port == 30080 and p.load_balancer_ips == ("10.250.0.3",)
    # A nodePort left over on a ClusterIP service (type changed) is not proxied.
    (q,) = service_ports(svc(ports=[{"port": 80, "nodePort": 30080}]))
    assert q.node_port == 0


def test_session_affinity_timeout() -> None:
    (p,) = service_ports(svc(sessionAffinity="ClientIP"))
    assert p.affinity_seconds == DEFAULT_AFFINITY_SECONDS
    (q,) = service_ports(
        svc(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 30}})
    )
    assert q.affinity_seconds == 30
    (r,) = service_ports(svc())
    assert r.affinity_seconds == 0


def test_ready_endpoints_match_port_name_and_protocol() -> None:
    ep = {
        "subsets": [
            {
                "addresses": [{"ip": "10.244.1.3"}, {"ip": "10.244.1.2", "nodeName": "a"}],
                "notReadyAddresses": [{"ip": "10.244.1.9"}],
                "ports": [{"name": "http", "port": 8080}, {"name": "dns", "port": 53, "protocol": "UDP"}],
            },
            {"addresses": [{"ip": "10.244.1.2"}], "ports": [{"name": "http", "port": 8080}]},
        ]
    }
    assert ready_endpoints(ep, "http", "TCP") == [Endpoint("10.244.1.2", 8080), Endpoint("10.244.1.3", 8080)]
    assert [str(e) for e in ready_endpoints(ep, "dns", "UDP")] == ["10.244.1.2:53", "10.244.1.3:53"]
    assert ready_endpoints(ep, "dns", "TCP") == []
    assert ready_endpoints(None, "", "TCP") == []


def test_build_table_joins_by_name_and_sorts() -> None:
    table = build_table(
        [svc("b"), svc("a"), svc("headless", clusterIP="None")],
        {"ns1/a": endpoints("a", addresses=[{"ip": "10.244.1.2"}], ports=[{"port": 8080}])},
    )
    assert [(sp.name, [str(e) for e in eps]) for sp, eps in table] == [("a", ["10.244.1.2:8080"]), ("b", [])]


def endpoint_slice(service: str, endpoints: list[Obj], ports: list[Obj] | None = None, **extra: Any) -> Obj:
    return {
        "metadata": {
            "name": f"{service}-x",
            "namespace": "ns1",
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports if ports is not None else [{"name": "", "port": 8080, "protocol": "TCP"}],
        **extra,
    }


def ep(
    ip: str, ready: bool | None = True, serving: bool | None = None, terminating: bool | None = None
) -> Obj:
    conditions = {
        k: v
        for k, v in (("ready", ready), ("serving", serving), ("terminating", terminating))
        if v is not None
    }
    return {"addresses": [ip], "conditions": conditions, "nodeName": "n1"}


def test_slices_give_ready_endpoints_of_the_named_port_across_slices() -> None:
    slices = [
        endpoint_slice("a", [ep("10.244.1.2"), ep("10.244.1.3", ready=False)]),
        endpoint_slice(
            "a", [ep("10.244.1.4", ready=None), ep("10.244.1.2")]
        ),  # unknown is ready; duplicates go
        endpoint_slice("a", [ep("10.244.1.9")], ports=[{"name": "metrics", "port": 9090, "protocol": "TCP"}]),
        endpoint_slice("a", [ep("fd00::1")], addressType="IPv6"),
        endpoint_slice("b", [ep("10.244.2.2")]),
    ]
    table = build_table_from_slices([svc("a"), svc("c")], slices)
    assert [(sp.name, [str(e) for e in eps]) for sp, eps in table] == [
        ("a", ["10.244.1.2:8080", "10.244.1.4:8080"]),
        ("c", []),
    ]
    assert table[0][1][0] == Endpoint("10.244.1.2", 8080, "n1")


def test_terminating_serving_endpoints_take_traffic_only_when_none_is_ready() -> None:
    draining = ep("10.244.1.5", ready=False, serving=True, terminating=True)
    gone = ep("10.244.1.6", ready=False, serving=False, terminating=True)
    assert [str(e) for e in slice_endpoints([endpoint_slice("a", [draining, gone])], "", "TCP")] == [
        "10.244.1.5:8080"
    ]
    both = [endpoint_slice("a", [draining, ep("10.244.1.7")])]
    assert [str(e) for e in slice_endpoints(both, "", "TCP")] == ["10.244.1.7:8080"]


def test_hostile_values_are_rejected_one_by_one() -> None:
    """A value that would reach a rule unchecked is left out and reported; the rest is still proxied."""
    bad = svc("evil", type="LoadBalancer", externalIPs=["fe80::1%x\nnetns add pwn", "192.0.2.7"],
              ports=[{"port": 80, "nodePort": 30080}, {"port": 81, "name": "bad name"}])  # fmt: skip
    bad["status"] = {
        "loadBalancer": {"ingress": [{"ip": "10.250.0.9\n-A KUBE-SERVICES -j ACCEPT"}, {"ip": "10.250.0.8"}]}
    }
    bad_name = svc("web\n")
    bad_ip = svc("ipv6", clusterIP="fd00::1")
    eps = endpoints("evil", addresses=[{"ip": "10.244.1.2"}, {"ip": "127.0.0.1"}, {"ip": "1.2.3.4\nx"}],
                    ports=[{"port": 8080}])  # fmt: skip
    rejected: list = []
    table = build_table([bad, bad_name, bad_ip, svc("good")], {"ns1/evil": eps}, rejected)
    assert [(sp.name, sp.port, sp.external_ips, sp.load_balancer_ips) for sp, _ in table] == [
        ("evil", 80, ("192.0.2.7",), ("10.250.0.8",)),
        ("good", 80, (), ()),
    ]
    assert table[0][1] == [Endpoint("10.244.1.2", 8080)]
    fields = sorted(r.field for r in rejected)
    assert fields == sorted([
        "spec.externalIPs[0]", "status.loadBalancer.ingress[].ip[0]", "spec.ports[1].name", "metadata.name",
        "spec.clusterIP", "subsets[0].addresses[1].ip", "subsets[0].addresses[2].ip",
    ])  # fmt: skip
    assert all("\n" not in r.message() for r in rejected)
