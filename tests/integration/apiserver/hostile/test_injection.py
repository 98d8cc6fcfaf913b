"""Every injection the issue found is refused by the API with 422 Invalid (or, for policy, 403), naming the field.

Their host-side halves (the same values written straight into etcd, refused by kube-proxy and the kubelet while
everything else is still programmed) are in tests/integration/proxy/test_hostile.py and
tests/e2e/kubelet/test_hostile.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.apiserver.hostile.helpers import assert_status

MERGE = {"Content-Type": "application/merge-patch+json"}


def causes(body: dict[str, Any]) -> dict[str, str]:
    return {c["field"]: c["message"] for c in body["details"]["causes"]}


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}], **spec}}


@pytest.mark.parametrize(
    "address",
    [
        "fe80::1%x\nnetns add pwn\nnetns exec pwn sh -c id",  # a zone with commands for `ip -batch`
        "fe80::1%eth0",
        "10.0.0.1\n-A KUBE-SERVICES -j ACCEPT",
        "010.1.2.3",  # octal to iptables, decimal to Go
        "::ffff:10.1.2.3",
        "10.1.2.3 ",
        "10.1.2.3/32",
    ],
)
def test_external_ip_that_is_not_a_plain_address_is_422(api: httpx.Client, ns: str, address: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/services", json=service("ext", externalIPs=[address]))
    body = assert_status(r, 422, "Invalid")
    assert "spec.externalIPs[0]" in causes(body)


def test_external_ips_are_denied_by_admission(api: httpx.Client, ns: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/services", json=service("ext", externalIPs=["192.0.2.10"]))
    body = assert_status(r, 403, "Forbidden")
    assert (
        body["message"] == 'services "ext" is forbidden: Use of external IPs is denied by admission control'
    )


def test_special_external_ips_are_422(api: httpx.Client, ns: str) -> None:
    for ip, message in (("127.0.0.1", "loopback"), ("0.0.0.0", "unspecified"), ("169.254.1.1", "link-local")):
        r = api.post(f"/api/v1/namespaces/{ns}/services", json=service("ext", externalIPs=[ip]))
        assert message in causes(assert_status(r, 422, "Invalid"))["spec.externalIPs[0]"]


@pytest.mark.parametrize(
    "ip", ["1.2.3.4\n-A KUBE-SERVICES -j DNAT --to-destination 203.0.113.1", "1.2.3", "x"]
)
def test_load_balancer_ingress_ip_is_validated_on_status(api: httpx.Client, ns: str, ip: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/services", json=service("lb", type="LoadBalancer"))
    assert r.status_code == 201, r.text
    patch = {"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}
    r = api.patch(f"/api/v1/namespaces/{ns}/services/lb/status", json=patch, headers=MERGE)
    body = assert_status(r, 422, "Invalid")
    assert causes(body)["status.loadBalancer.ingress[0].ip"].endswith("must be a valid IP address")
    hostname = {"status": {"loadBalancer": {"ingress": [{"hostname": "10.1.2.3"}]}}}
    r = api.patch(f"/api/v1/namespaces/{ns}/services/lb/status", json=hostname, headers=MERGE)
    assert (
        "not an IP address"
        in causes(assert_status(r, 422, "Invalid"))["status.loadBalancer.ingress[0].hostname"]
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("services", {"metadata": {"name": "web\n"}, "spec": {"ports": [{"port": 80}]}}),
        ("pods", {"metadata": {"name": "web\n"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
        ("configmaps", {"metadata": {"name": "web\n"}}),
        ("services", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80, "name": "http\n"}]}}),
        ("pods", {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c\n", "image": "i"}]}}),
    ],
)
def test_a_trailing_newline_is_not_a_valid_name(api: httpx.Client, ns: str, path: str, body: dict) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/{path}", json=body)
    assert_status(r, 422, "Invalid")


def test_label_keys_and_values_are_matched_whole(api: httpx.Client, ns: str) -> None:
    for labels in ({"app": "web\n"}, {"app\n": "web"}, {"a/b/c": "x"}, {"app": "x" * 64}):
        r = api.post(
            f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "l", "labels": labels}}
        )
        assert "metadata.labels" in causes(assert_status(r, 422, "Invalid"))


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"podCIDR": "0.0.0.0/0", "podCIDRs": ["0.0.0.0/0"]}, "spec.podCIDR", "subnet of the cluster CIDR"),
        ({"podCIDR": "10.96.0.0/24"}, "spec.podCIDR", "subnet of the cluster CIDR"),
        ({"podCIDR": "10.244.1.0/24\nblackhole 0.0.0.0/0"}, "spec.podCIDR", "valid CIDR"),
        ({"podCIDR": "10.244.1.1"}, "spec.podCIDR", "valid CIDR"),
        ({"podCIDRs": ["10.244.1.0/24", "10.244.2.0/24"]}, "spec.podCIDRs", "one CIDR for each IP family"),
    ],
)
def test_node_pod_cidr(api: httpx.Client, spec: dict, field: str, message: str) -> None:
    r = api.post("/api/v1/nodes", json={"metadata": {"name": "evil-node"}, "spec": spec})
    assert message in causes(assert_status(r, 422, "Invalid"))[field]


@pytest.mark.parametrize(
    ("status", "field"),
    [
        (
            {"addresses": [{"type": "InternalIP", "address": "127.0.0.1:2379/v3/kv/range#"}]},
            "status.addresses[0].address",
        ),
        ({"addresses": [{"type": "InternalIP", "address": "evil.example"}]}, "status.addresses[0].address"),
        ({"addresses": [{"type": "Hostname", "address": "a b"}]}, "status.addresses[0].address"),
        ({"addresses": [{"type": "Sideways", "address": "10.0.0.1"}]}, "status.addresses[0].type"),
        (
            {"daemonEndpoints": {"kubeletEndpoint": {"Port": 70000}}},
            "status.daemonEndpoints.kubeletEndpoint.Port",
        ),
    ],
)
def test_node_addresses_and_kubelet_port(api: httpx.Client, status: dict, field: str) -> None:
    r = api.post("/api/v1/nodes", json={"metadata": {"name": "evil-node"}, "status": status})
    assert field in causes(assert_status(r, 422, "Invalid"))


def test_node_status_update_is_validated_too(api: httpx.Client) -> None:
    r = api.post(
        "/api/v1/nodes", json={"metadata": {"name": "good-node"}, "spec": {"podCIDR": "10.244.77.0/24"}}
    )
    assert r.status_code == 201, r.text
    try:
        bad = {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1:1/x"}]}}
        r = api.patch("/api/v1/nodes/good-node/status", json=bad, headers=MERGE)
        assert_status(r, 422, "Invalid")
        r = api.patch("/api/v1/nodes/good-node", json={"spec": {"podCIDR": "10.244.78.0/24"}}, headers=MERGE)
        assert "may not change podCIDR" in causes(assert_status(r, 422, "Invalid"))["spec.podCIDR"]
    finally:
        api.delete("/api/v1/nodes/good-node")


def pod_with_mount(**mount: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "vol"},
        "spec": {
            "volumes": [{"name": "e", "emptyDir": {}}],
            "containers": [
                {"name": "c", "image": "i", "volumeMounts": [{"name": "e", "mountPath": "/x", **mount}]}
            ],
        },
    }


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        ({"subPath": "../../.."}, "must not contain '..'"),
        ({"subPath": "a/../../b"}, "must not contain '..'"),
        ({"subPath": "/etc"}, "must be a relative path"),
        ({"subPathExpr": "../$(POD)"}, "must not contain '..'"),
    ],
)
def test_sub_path_must_stay_inside_the_volume(api: httpx.Client, ns: str, mount: dict, message: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_with_mount(**mount))
    found = causes(assert_status(r, 422, "Invalid"))
    key = "spec.containers[0].volumeMounts." + next(iter(mount))
    assert message in found[key]


def test_host_path_with_backsteps_is_422(api: httpx.Client, ns: str) -> None:
    pod = pod_with_mount()
    pod["spec"]["volumes"] = [{"name": "e", "hostPath": {"path": "/var/lib/../../etc"}}]
    r = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod)
    assert (
        "must not contain '..'" in causes(assert_status(r, 422, "Invalid"))["spec.volumes[0].hostPath.path"]
    )


def test_replicas_and_scale_must_fit_int32(api: httpx.Client, ns: str) -> None:
    dep = {
        "metadata": {"name": "big"},
        "spec": {
            "replicas": 2**63 - 1,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    r = api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=dep)
    assert "2147483647" in causes(assert_status(r, 422, "Invalid"))["spec.replicas"]
    dep["spec"]["replicas"] = 1
    assert api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=dep).status_code == 201
    scale_path = f"/apis/apps/v1/namespaces/{ns}/deployments/big/scale"
    for replicas in (2**70, 2**31, -1, "3", True):
        r = api.patch(scale_path, json={"spec": {"replicas": replicas}}, headers=MERGE)
        assert "spec.replicas" in causes(assert_status(r, 422, "Invalid")), replicas
    assert api.get(scale_path).json()["spec"]["replicas"] == 1


def test_grace_periods(api: httpx.Client, ns: str) -> None:
    pod = {"metadata": {"name": "g"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    for grace in (2**64, 2**63, "30", 1.5):
        pod["spec"]["terminationGracePeriodSeconds"] = grace
        r = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod)
        assert "spec.terminationGracePeriodSeconds" in causes(assert_status(r, 422, "Invalid")), grace
    pod["spec"]["terminationGracePeriodSeconds"] = -5
    r = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod)
    assert r.status_code == 201 and r.json()["spec"]["terminationGracePeriodSeconds"] == 1, r.text
    for options in ({"gracePeriodSeconds": "soon"}, {"gracePeriodSeconds": 2**64}, {"preconditions": "x"}):
        r = api.request("DELETE", f"/api/v1/namespaces/{ns}/pods/g", json=options)
        assert_status(r, 400, "BadRequest")
    r = api.request("DELETE", f"/api/v1/namespaces/{ns}/pods/g", json={"gracePeriodSeconds": 2**63 - 1})
    assert r.status_code == 200, r.text


def test_binding_to_a_bad_node_name_is_422(api: httpx.Client, ns: str) -> None:
    pod = {"metadata": {"name": "b"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
    for target in ({"name": "node\n1"}, {"name": "../x"}, {"kind": "Pod", "name": "n1"}, {}):
        r = api.post(f"/api/v1/namespaces/{ns}/pods/b/binding", json={"target": target})
        assert_status(r, 422, "Invalid")
    assert "nodeName" not in api.get(f"/api/v1/namespaces/{ns}/pods/b").json()["spec"]


def test_endpoints_addresses(api: httpx.Client, ns: str) -> None:
    for ip in ("10.0.0.1\n-A X", "127.0.0.1", "0.0.0.0", "fe80::1%eth0"):
        body = {"metadata": {"name": "ep"}, "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 80}]}]}
        r = api.post(f"/api/v1/namespaces/{ns}/endpoints", json=body)
        assert "subsets[0].addresses[0].ip" in causes(assert_status(r, 422, "Invalid"))


def test_every_service_field(api: httpx.Client, ns: str) -> None:
    cases = [
        ({"loadBalancerIP": "1.2.3.4;x"}, "spec.loadBalancerIP"),
        ({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/33"]}, "spec.LoadBalancerSourceRanges"),
        ({"loadBalancerSourceRanges": ["10.0.0.0/8"]}, "spec.loadBalancerSourceRanges"),
        ({"clusterIP": "10.96.0.1\n"}, "spec.clusterIP"),
        ({"clusterIPs": ["x"]}, "spec.clusterIPs[0]"),
        ({"ipFamilies": ["IPv5"]}, "spec.ipFamilies[0]"),
        ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}}},
         "spec.sessionAffinityConfig.clientIP.timeoutSeconds"),
        ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 65536}]}, "spec.ports[0].nodePort"),
        ({"ports": [{"port": 0}]}, "spec.ports[0].port"),
        ({"ports": [{"port": 80, "targetPort": "a b"}]}, "spec.ports[0].targetPort"),
        ({"ports": [{"port": 80, "appProtocol": "h2 c"}]}, "spec.ports[0].appProtocol"),
        ({"type": "ExternalName", "externalName": "evil\n.example"}, "spec.externalName"),
        ({"healthCheckNodePort": 30001}, "spec.healthCheckNodePort"),
    ]  # fmt: skip
    for spec, field in cases:
        r = api.post(f"/api/v1/namespaces/{ns}/services", json={"metadata": {"name": "f"}, "spec": {
            "ports": [{"port": 80}], **spec}})  # fmt: skip
        assert field in causes(assert_status(r, 422, "Invalid")), (spec, r.text)
