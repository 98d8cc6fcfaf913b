"""host-gw route decisions from Node objects (network.routes): what a hostile Node cannot make a kubelet route."""

from __future__ import annotations

from typing import Any

from kubelet.network.cni import CniError, CniInvoker, port_mappings
from kubelet.network.routes import desired_routes, own_pod_cidr_problem

CLUSTER = "10.244.0.0/16"


def node(name: str, cidr: Any, ip: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": name}, "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}  # fmt: skip


def test_good_nodes_are_routed_and_bad_ones_skipped() -> None:
    nodes = [
        node("self", "10.244.1.0/24", "192.0.2.1"),
        node("b-good", "10.244.2.0/24", "192.0.2.2"),
        node("c-everything", "0.0.0.0/0", "192.0.2.3"),
        node("d-cluster", CLUSTER, "192.0.2.4"),
        node("e-outside", "10.96.0.0/24", "192.0.2.5"),
        node("f-mine", "10.244.1.128/25", "192.0.2.6"),
        node("g-overlap", "10.244.2.0/25", "192.0.2.7"),
        node("h-multicast", "10.244.8.0/24", "224.0.0.1"),
        node("h-same-machine", "10.244.12.0/24", "127.0.0.1"),
        node("i-inject", "10.244.9.0/24\nblackhole 0.0.0.0/0", "192.0.2.9"),
        node("j-zone", "10.244.10.0/24", "fe80::1%eth0"),
        node("k-good", "10.244.11.7/24", "192.0.2.11"),
    ]
    routes, rejected = desired_routes(nodes, "self", CLUSTER, "10.244.1.0/24")
    assert routes == {"10.244.2.0/24": "192.0.2.2", "10.244.11.0/24": "192.0.2.11"}
    reasons = {r.node["metadata"]["name"]: r.why for r in rejected}
    assert set(reasons) == {"c-everything", "d-cluster", "e-outside", "f-mine", "g-overlap", "h-multicast",
                            "i-inject", "j-zone"}  # fmt: skip
    assert "overlaps this node's podCIDR" in reasons["f-mine"]
    assert "not a routable IPv4 address" in reasons["h-multicast"]


def test_own_pod_cidr() -> None:
    assert own_pod_cidr_problem("10.244.3.0/24", CLUSTER) is None
    assert own_pod_cidr_problem("0.0.0.0/0", CLUSTER)
    assert own_pod_cidr_problem(CLUSTER, CLUSTER)
    assert own_pod_cidr_problem("10.244.3.0/24;x", CLUSTER)


def test_cni_arguments_are_checked() -> None:
    invoker = CniInvoker("/nonexistent", __import__("pathlib").Path("/nonexistent"))
    pod = {"metadata": {"namespace": "ns", "name": "p;K8S_POD_NAME=other", "uid": "u"}}
    for bad_pod, cid in ((pod, "abc"), ({"metadata": {"namespace": "ns", "name": "p", "uid": "u"}}, "a;b")):
        try:
            invoker._env(cid, "/proc/1/ns/net", "eth0", bad_pod)
        except CniError:
            continue
        raise AssertionError("CNI arguments with ';' were accepted")
    env = invoker._env(
        "abc", "/proc/1/ns/net", "eth0", {"metadata": {"namespace": "ns", "name": "p", "uid": "u-1"}}
    )
    assert (
        env["CNI_ARGS"]
        == "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1"
    )
    for port in ({"containerPort": 80, "hostPort": 70000}, {"containerPort": 80, "hostPort": 80, "hostIP": "x"},
                 {"containerPort": 80, "hostPort": 80, "protocol": "ICMP"}):  # fmt: skip
        try:
            port_mappings({"spec": {"containers": [{"ports": [port]}]}})
        except CniError:
            continue
        raise AssertionError(f"port mapping {port} was accepted")
