"""Service address allocation through updates: type changes claim and free node ports and load-balancer IPs."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import running_apiserver

pytestmark = pytest.mark.etcd

MERGE = {"Content-Type": "application/merge-patch+json"}


def svc(name: str, svc_type: str = "ClusterIP", **spec: object) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {
            "type": svc_type,
            "selector": {"app": name},
            "ports": [{"port": 80, "targetPort": 8080}],
            **spec,
        },
    }


def test_cluster_ip_to_load_balancer_and_back(api: httpx.Client, ns: str) -> None:
    created = api.post(f"/api/v1/namespaces/{ns}/services", json=svc("flip")).json()
    ip = created["spec"]["clusterIP"]
    assert "nodePort" not in created["spec"]["ports"][0]

    r = api.patch(
        f"/api/v1/namespaces/{ns}/services/flip", json={"spec": {"type": "LoadBalancer"}}, headers=MERGE
    )
    assert r.status_code == 200, r.text
    lb = r.json()
    assert lb["spec"]["clusterIP"] == ip
    node_port = lb["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    lb_ip = lb["status"]["loadBalancer"]["ingress"][0]["ip"]

    # The port is really claimed: another service cannot ask for it.
    taken = svc("other", "NodePort")
    taken["spec"]["ports"][0]["nodePort"] = node_port
    assert api.post(f"/api/v1/namespaces/{ns}/services", json=taken).status_code == 422

    r = api.patch(
        f"/api/v1/namespaces/{ns}/services/flip", json={"spec": {"type": "ClusterIP"}}, headers=MERGE
    )
    back = r.json()
    assert r.status_code == 200 and "nodePort" not in back["spec"]["ports"][0]
    assert not back["status"]["loadBalancer"]
    # ... and freed: now it can.
    assert api.post(f"/api/v1/namespaces/{ns}/services", json=taken).status_code == 201
    # The load-balancer IP went back to the pool too: a new LoadBalancer may ask for it.
    again = svc("lb2", "LoadBalancer", loadBalancerIP=lb_ip)
    r = api.post(f"/api/v1/namespaces/{ns}/services", json=again)
    assert r.status_code == 201, r.text
    assert r.json()["status"]["loadBalancer"]["ingress"][0]["ip"] == lb_ip


def test_requested_node_port_on_update(api: httpx.Client, ns: str) -> None:
    api.post(f"/api/v1/namespaces/{ns}/services", json=svc("np", "NodePort"))
    first = api.post(f"/api/v1/namespaces/{ns}/services", json=svc("holder", "NodePort")).json()
    held = first["spec"]["ports"][0]["nodePort"]
    live = api.get(f"/api/v1/namespaces/{ns}/services/np").json()
    live["spec"]["ports"][0]["nodePort"] = held
    r = api.put(f"/api/v1/namespaces/{ns}/services/np", json=live)
    assert r.status_code == 422 and "already allocated" in r.json()["message"]


def test_bad_load_balancer_ip_is_422(api: httpx.Client, ns: str) -> None:
    r = api.post(
        f"/api/v1/namespaces/{ns}/services", json=svc("bogus", "LoadBalancer", loadBalancerIP="bogus")
    )
    assert r.status_code == 422, r.text


def test_first_service_ip_is_kept_for_the_kubernetes_service(api: httpx.Client, ns: str) -> None:
    ips = {
        api.post(f"/api/v1/namespaces/{ns}/services", json=svc(f"s{i}")).json()["spec"]["clusterIP"]
        for i in range(20)
    }
    assert "10.96.0.1" not in ips


def test_the_kubernetes_service_points_at_the_apiserver_and_survives_restarts(etcd) -> None:
    """The `kubernetes` Service (the first service address, port 443), its Endpoints and its EndpointSlice (the
    advertised address and the secure port) are made at start-up and kept across restarts (nothing is sent to that address here)."""
    with running_apiserver(etcd.url, ["--advertise-address", "192.0.2.10"]) as server:
        for attempt in range(2):
            with server.client() as api:
                svc = api.get("/api/v1/namespaces/default/services/kubernetes").json()
                assert svc["spec"]["clusterIP"] == "10.96.0.1"
                assert svc["spec"]["ports"] == [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": server.port}
                ]
                ep = api.get("/api/v1/namespaces/default/endpoints/kubernetes").json()
                assert ep["subsets"] == [
                    {
                        "addresses": [{"ip": "192.0.2.10"}],
                        "ports": [{"name": "https", "port": server.port, "protocol": "TCP"}],
                    }
                ]
                es = api.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes").json()
                assert es["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
                assert es["metadata"]["generation"] == 1  # unchanged by the restart
                assert es["addressType"] == "IPv4"
                assert es["endpoints"] == [{"addresses": ["192.0.2.10"], "conditions": {"ready": True}}]
                assert es["ports"] == [{"name": "https", "port": server.port, "protocol": "TCP"}]
            if attempt == 0:
                server.restart()
