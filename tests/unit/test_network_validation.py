"""The address checks shared by the API and the host components (apimachinery.validation.network), and the
validation rules added for hostile input: full-match names, Services, Nodes, bindings, pod mounts and security
contexts."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.validation import (
    cidr_errors,
    host_ipv4,
    host_ipv4_network,
    ip_errors,
    is_dns1123_label,
    is_label_value,
    is_qualified_name,
    non_special_ip_errors,
    parse_cidr,
    parse_ip,
    parse_quantity,
    pod_cidr_outside,
    unicast_ipv4,
    validate,
)


@pytest.mark.parametrize(
    "value",
    ["10.0.0.1", "2001:db8::1", "::1", "255.255.255.255"],
)
def test_plain_addresses_parse(value: str) -> None:
    assert parse_ip(value) is not None and ip_errors(value) == []


@pytest.mark.parametrize(
    "value",
    [
        "fe80::1%eth0",
        "fe80::1%x\nnetns add pwn",
        "010.1.2.3",
        "1.2.3.4\n",
        " 1.2.3.4",
        "1.2.3.4/32",
        "1.2.3",
        "::ffff:1.2.3.4",
        "",
        None,
        7,
        ["1.2.3.4"],
    ],
)
def test_everything_else_does_not(value: Any) -> None:
    assert parse_ip(value) is None and ip_errors(value)
    assert host_ipv4(value) is None


def test_messages() -> None:
    assert ip_errors("x") == ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    assert ip_errors("::ffff:1.2.3.4") == ["must not be an IPv4-mapped IPv6 address"]
    assert cidr_errors("10.0.0.0") == ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    assert non_special_ip_errors("127.0.0.1") == ["may not be in the loopback range (127.0.0.0/8, ::1/128)"]
    assert non_special_ip_errors("0.0.0.0") == ["may not be unspecified (0.0.0.0)"]
    assert non_special_ip_errors("224.0.0.5") == [
        "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
    ]
    assert non_special_ip_errors("10.1.2.3") == []


@pytest.mark.parametrize(
    ("value", "network"),
    [("10.244.1.0/24", "10.244.1.0/24"), ("10.244.1.7/24", "10.244.1.0/24"), ("0.0.0.0/0", "0.0.0.0/0")],
)
def test_cidrs(value: str, network: str) -> None:
    net = parse_cidr(value)
    assert net is not None and str(net) == network


@pytest.mark.parametrize(
    "value", ["10.0.0.0/33", "10.0.0.0/024", "10.0.0.0/ 8", "10.0.0.0/8\n", "x/8", "10/8", "fe80::%1/64"]
)
def test_bad_cidrs(value: str) -> None:
    assert parse_cidr(value) is None and host_ipv4_network(value) is None


def test_host_helpers() -> None:
    assert host_ipv4("10.0.0.1") == "10.0.0.1" and host_ipv4("2001:db8::1") is None
    assert str(host_ipv4_network("10.244.0.0/16")) == "10.244.0.0/16"
    assert unicast_ipv4("169.254.7.1") == "169.254.7.1"
    for bad in ("127.0.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1"):
        assert unicast_ipv4(bad) is None


def test_names_are_matched_whole() -> None:
    assert is_dns1123_label("web\n") and is_dns1123_label("web") == [] and is_label_value("v\n")
    assert is_qualified_name("app\n") and is_qualified_name("example.com/app") == []
    with pytest.raises(ValueError):
        parse_quantity("1\n")


def _causes(obj: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, str]:
    return {c["field"]: c["message"] for c in validate(obj, old)}


def _service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}], **spec}}  # fmt: skip


def test_service_status_ingress() -> None:
    svc = _service(type="LoadBalancer")
    svc["status"] = {
        "loadBalancer": {
            "ingress": [
                {"ip": "1.2.3.4\n-A X"},
                {"hostname": "1.2.3.4"},
                {"ip": "1.2.3.4", "ipMode": "Bogus"},
            ]
        }
    }
    found = _causes(svc)
    assert (
        found["status.loadBalancer.ingress[0].ip"]
        == 'Invalid value: "1.2.3.4\\n-A X": must be a valid IP address'
    )
    assert "not an IP address" in found["status.loadBalancer.ingress[1].hostname"]
    assert "Unsupported value" in found["status.loadBalancer.ingress[2].ipMode"]


def test_service_addresses() -> None:
    assert "spec.externalIPs[0]" in _causes(_service(externalIPs=["fe80::1%x"]))
    assert "loopback" in _causes(_service(externalIPs=["127.0.0.2"]))["spec.externalIPs[0]"]
    assert _causes(_service(externalIPs=["192.0.2.10"])) == {}
    assert "spec.clusterIPs" in _causes(_service(clusterIP="10.96.0.10", clusterIPs=["10.96.0.11"]))
    assert "spec.loadBalancerIP" in _causes(_service(loadBalancerIP="a"))
    assert _causes(
        _service(
            type="NodePort",
            ports=[{"port": 80, "nodePort": 30000}, {"port": 81, "nodePort": 30000, "name": "b"}],
        )
    )


def test_node_rules() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {"podCIDR": "0.0.0.0/0"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1:1"}]}}  # fmt: skip
    found = _causes(node)
    assert "status.addresses[0].address" in found and "spec.podCIDR" not in found  # a valid CIDR
    outside = pod_cidr_outside(node, "10.244.0.0/16")
    assert [c["field"] for c in outside] == ["spec.podCIDR"] and "subnet of the cluster CIDR" in outside[0][
        "message"
    ]
    assert pod_cidr_outside({"spec": {"podCIDR": "10.244.3.0/24"}}, "10.244.0.0/16") == []
    old = {**node, "spec": {"podCIDR": "10.244.1.0/24"}, "status": {}}
    new = {**node, "spec": {"podCIDR": "10.244.2.0/24"}, "status": {}}
    assert "may not change podCIDR" in _causes(new, old)["spec.podCIDR"]


def test_binding_target() -> None:
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "p", "namespace": "ns"},
        "target": {"name": "n\n"},
    }
    assert "target.name" in _causes(binding)


def _pod(container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    box = {"name": "c", "image": "i", **(container or {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [box], **spec}}  # fmt: skip


def test_pod_mounts_and_security() -> None:
    vols = [{"name": "v", "emptyDir": {}}]
    mount = {"volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "a/../../b"}]}
    assert _causes(_pod(mount, volumes=vols))["spec.containers[0].volumeMounts.subPath"].endswith(
        "must not contain '..'"
    )
    mount = {"volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "/abs"}]}
    assert (
        "must be a relative path"
        in _causes(_pod(mount, volumes=vols))["spec.containers[0].volumeMounts.subPath"]
    )
    assert (
        _causes(_pod({"volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "a/b..c"}]}, volumes=vols))
        == {}
    )
    found = _causes(_pod({"securityContext": {"privileged": "yes", "runAsUser": -1, "procMount": "Weird",
                                              "seccompProfile": {"type": "Localhost", "localhostProfile": "../x"}}}))  # fmt: skip
    assert {"spec.containers[0].securityContext.privileged", "spec.containers[0].securityContext.runAsUser",
            "spec.containers[0].securityContext.procMount",
            "spec.containers[0].securityContext.seccompProfile.localhostProfile"} <= set(found)  # fmt: skip
    assert "spec.hostNetwork" in _causes(_pod(hostNetwork="true"))
    assert "spec.securityContext.sysctls[0].name" in _causes(
        _pod(securityContext={"sysctls": [{"name": "a b"}]})
    )
    assert "spec.dnsConfig.nameservers[0]" in _causes(_pod(dnsConfig={"nameservers": ["1.1.1.1\nx"]}))
    assert "spec.hostAliases[0].ip" in _causes(_pod(hostAliases=[{"ip": "x", "hostnames": ["a"]}]))
    assert "spec.containers[0].command" in _causes(_pod({"command": "sh -c id"}))
    assert "spec.containers[0].ports[0].hostIP" in _causes(
        _pod({"ports": [{"containerPort": 80, "hostIP": "x"}]})
    )


def test_workload_int32_ranges() -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
           "spec": {"replicas": 2**31, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}  # fmt: skip
    assert (
        _causes(dep)["spec.replicas"] == "Invalid value: 2147483648: must be less than or equal to 2147483647"
    )
