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

Obj = dict[str, Any]


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
