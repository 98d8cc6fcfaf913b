"""A pod's hostname, /etc/hosts and /etc/resolv.conf from its spec, as the kubelet writes them."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.dnsconfig import ResolvConf, cluster_dns_ip, parse_resolv_conf, render
from apimachinery.validation import validate
from kubelet.pod_dns import (
    PodDNSError,
    container_hostname,
    hosts_file,
    pod_hostname,
    pod_resolv_conf,
    write_pod_files,
)

HOST = ResolvConf(["192.0.2.53"], ["corp.example", "example"], ["edns0", "ndots:1"])


def pod(name: str = "web-0", ns: str = "shop", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": "u1"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


def conf(p: dict[str, Any], dns: list[str] | None = None) -> tuple[str, list[tuple[str, str]]]:
    result = pod_resolv_conf(p, cluster_dns=["10.96.0.10"] if dns is None else dns, cluster_domain="cluster.local",
                             host=HOST)  # fmt: skip
    assert result.conf is not None
    return render(result.conf), result.warnings


def test_cluster_first_is_the_default():
    text, warnings = conf(pod())
    assert text == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example example\n"
        "nameserver 10.96.0.10\noptions ndots:5\n"
    )
    assert warnings == []


def test_default_policy_is_the_nodes_resolv_conf():
    assert (
        conf(pod(dnsPolicy="Default"))[0]
        == "search corp.example example\nnameserver 192.0.2.53\noptions edns0 ndots:1\n"
    )


def test_cluster_first_on_the_host_network_is_default_but_with_host_net_is_the_cluster():
    assert "192.0.2.53" in conf(pod(hostNetwork=True))[0]
    assert "10.96.0.10" in conf(pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"))[0]


def test_cluster_first_without_cluster_dns_falls_back_to_default_with_a_warning():
    text, warnings = conf(pod(), dns=[])
    assert "nameserver 192.0.2.53" in text
    assert [w[0] for w in warnings] == ["MissingClusterDNS"]


def test_none_uses_only_dns_config_and_dns_config_merges_into_others():
    cfg = {"nameservers": ["192.0.2.1"], "searches": ["my.example."], "options": [{"name": "ndots", "value": "2"},
                                                                                     {"name": "edns0"}]}  # fmt: skip
    assert conf(pod(dnsPolicy="None", dnsConfig=cfg))[0] == (
        "search my.example\nnameserver 192.0.2.1\noptions ndots:2 edns0\n"
    )
    text = conf(pod(dnsConfig=cfg))[0]
    assert text == (
        "search my.example shop.svc.cluster.local svc.cluster.local cluster.local corp.example example\n"
        "nameserver 10.96.0.10\nnameserver 192.0.2.1\noptions ndots:2 edns0\n"
    )


def test_limits_cut_nameservers_and_searches_with_warnings():
    cfg = {
        "nameservers": ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
        "searches": [f"s{i}.example" for i in range(40)],
    }
    text, warnings = conf(pod(dnsConfig=cfg))
    parsed = parse_resolv_conf(text)
    assert parsed.nameservers == ["10.96.0.10", "192.0.2.1", "192.0.2.2"]
    assert len(parsed.searches) == 32
    assert [w[0] for w in warnings] == ["DNSConfigForming", "DNSConfigForming"]


def test_values_that_would_break_the_file_are_never_written():
    cfg = {"nameservers": ["192.0.2.1\nnameserver 6.6.6.6"], "searches": ["ok.example", "bad\nline"],
           "options": [{"name": "ndots", "value": "1\noptions x"}]}  # fmt: skip
    text = conf(pod(dnsPolicy="None", dnsConfig=cfg))[0]
    assert text == "search ok.example\n" and "6.6.6.6" not in text


def test_hostname_subdomain_and_fqdn():
    assert pod_hostname(pod(), "cluster.local") == ("web-0", "")
    assert pod_hostname(pod(hostname="db-0", subdomain="db"), "cluster.local") == (
        "db-0",
        "db.shop.svc.cluster.local",
    )
    assert pod_hostname(pod(name="x" * 70 + "-y"), "cluster.local")[0] == "x" * 63
    assert container_hostname(
        pod(hostname="db-0", subdomain="db", setHostnameAsFQDN=True), "cluster.local"
    ) == ("db-0.db.shop.svc.cluster.local")
    with pytest.raises(PodDNSError, match="too long"):
        container_hostname(pod(hostname="d" * 40, subdomain="db", setHostnameAsFQDN=True), "cluster.local")


def test_hosts_file_has_the_fqdn_and_host_aliases():
    p = pod(hostname="db-0", subdomain="db", hostAliases=[{"ip": "192.0.2.9", "hostnames": ["a.example", "b"]},
                                                          {"ip": "bad\nip", "hostnames": ["c"]}])  # fmt: skip
    text = hosts_file(p, "10.244.0.7", "db-0", "db.shop.svc.cluster.local")
    assert text.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert "\n10.244.0.7\tdb-0.db.shop.svc.cluster.local\tdb-0\n" in text
    assert text.endswith("\n# Entries added by HostAliases.\n192.0.2.9\ta.example\tb\n")


def test_files_are_written_under_the_pod_dir_and_bound_read_only(tmp_path):
    p = pod()
    binds, _ = write_pod_files(tmp_path, p, p["spec"]["containers"][0], pod_ip="10.244.0.5",
                               cluster_dns=["10.96.0.10"], cluster_domain="cluster.local", host=HOST)  # fmt: skip
    assert binds == [(f"{tmp_path}/etc-hosts", "/etc/hosts"), (f"{tmp_path}/resolv.conf", "/etc/resolv.conf")]
    assert "10.244.0.5\tweb-0\n" in (tmp_path / "etc-hosts").read_text()
    assert "nameserver 10.96.0.10" in (tmp_path / "resolv.conf").read_text()
    own = {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/etc/resolv.conf"}]}
    binds, _ = write_pod_files(tmp_path, p, own, pod_ip="10.244.0.5", cluster_dns=[], cluster_domain="cluster.local",
                               host=HOST)  # fmt: skip
    assert binds == [(f"{tmp_path}/etc-hosts", "/etc/hosts")]


def test_cluster_dns_ip_is_the_tenth_address():
    assert cluster_dns_ip("10.96.0.0/12") == "10.96.0.10"
    assert cluster_dns_ip("10.0.0.0/24") == "10.0.0.10"
    with pytest.raises(ValueError):
        cluster_dns_ip("10.0.0.0/29")


def _fields(obj: dict[str, Any]) -> list[str]:
    return [c["field"] for c in validate(obj)]


def test_the_api_validates_the_dns_fields():
    assert _fields(pod(hostname="Bad_Name", subdomain="ok")) == ["spec.hostname"]
    assert _fields(pod(dnsPolicy="None")) == ["spec.dnsConfig"]
    assert _fields(pod(dnsPolicy="None", dnsConfig={"nameservers": []})) == ["spec.dnsConfig.nameservers"]
    bad = {"nameservers": ["1.1.1.1", "x", "2.2.2.2", "3.3.3.3"], "searches": ["ok.", "no\nway"],
           "options": [{"value": "1"}, {"name": "ndots", "value": "1 2"}]}  # fmt: skip
    assert _fields(pod(dnsConfig=bad)) == [
        "spec.dnsConfig.nameservers", "spec.dnsConfig.nameservers[1]", "spec.dnsConfig.searches[1]",
        "spec.dnsConfig.options[0].name", "spec.dnsConfig.options[1].value",
    ]  # fmt: skip
    assert _fields(pod(hostAliases=[{"ip": "nope", "hostnames": ["a", "B_"]}])) == [
        "spec.hostAliases[0].ip", "spec.hostAliases[0].hostnames[1]",
    ]  # fmt: skip
    assert _fields(pod(hostname="db-0", subdomain="db", dnsConfig={"searches": ["a.example"]})) == []
