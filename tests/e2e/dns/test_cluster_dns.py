"""Cluster DNS on real Docker: busybox pods resolve and reach Services by name through the kube-dns Service
(10.96.0.10, programmed by kube-proxy like any Service), headless Services answer every ready pod, SRV, NXDOMAIN,
forwarding only to the node's own resolvers, and answers that follow a change within a second.

The client pod runs on node B, kube-dns listens on node A's bridge address: queries cross from one bridge to the
other through kube-proxy's DNAT, as they would from any pod of the node.
"""

from __future__ import annotations

import time
from typing import Any

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from tests.e2e.dns.helpers import DNS_IP, OUTSIDE_IP, OUTSIDE_NAME, DNSCluster, docker_exec
from tests.harness import forbidden_lines
from tests.images import BUSYBOX_IMAGE
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def shop(dns_cluster: DNSCluster) -> dict[str, Any]:
    """A namespace with the Deployment `api` (2 httpd pods), its Service `api` (named port http) and a headless
    Service `db` over the same pods, and a client pod on node B."""
    c = dns_cluster.cluster
    ns = c.namespace()
    c.deployment(ns, "api", 2)
    ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    api = c.create(f"/api/v1/namespaces/{ns}/services",
                   {"metadata": {"name": "api"}, "spec": {"selector": {"app": "api"}, "ports": ports}})  # fmt: skip
    c.create(f"/api/v1/namespaces/{ns}/services",
             {"metadata": {"name": "db"}, "spec": {"selector": {"app": "api"}, "clusterIP": "None",
                                                   "ports": [{"name": "http", "port": 8080}]}})  # fmt: skip
    client = c.client_pod(ns, c.b.name)
    # kube-dns listens on node A's bridge address, which exists once node A runs a pod (under `kctl up`, one node,
    # any pod that asks has made it exist); the api pods may all land on B.
    c.client_pod(ns, c.a.name, name="on-a")
    pods = wait_until(lambda: len(c.ready_pods(ns, "app=api")) == 2 and c.ready_pods(ns, "app=api"), 90, 0.3,
                      what="2 ready api pods")  # fmt: skip
    return {"ns": ns, "client": client, "ip": api["spec"]["clusterIP"], "pods": pods}


def query(name: str, qtype: str = "A", server: str = DNS_IP) -> dns.message.Message:
    """A query from the test, to the kube-dns Service's address (through kube-proxy) by default."""
    return dns.query.udp(dns.message.make_query(name, qtype), server, timeout=2)


def addresses(output: str) -> set[str]:
    """The answer addresses in busybox nslookup's output (the server's own `Address: ip:53` line left out)."""
    return {
        line.split()[-1] for line in output.splitlines() if line.startswith("Address:") and ":53" not in line
    }


def test_the_kube_dns_service_is_reachable_through_kube_proxy(
    dns_cluster: DNSCluster, shop: dict[str, Any]
) -> None:
    svc = dns_cluster.cluster.get("/api/v1/namespaces/kube-system/services/kube-dns")
    assert svc is not None and svc["spec"]["clusterIP"] == DNS_IP
    # kube-proxy programs the slice the DNS process wrote: UDP through the Service's address answers.
    reply = wait_until(
        lambda: query("kube-dns.kube-system.svc.cluster.local."), 20, 0.2, what="DNS via the Service"
    )
    assert [str(rd) for rd in reply.answer[0]] == [DNS_IP]


def test_pods_get_the_cluster_resolver_and_their_names(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    ns = shop["ns"]
    out = docker_exec(
        shop["client"], "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname"
    ).stdout
    resolv, hosts, hostname = out.split("---\n")
    assert resolv == (f"search {ns}.svc.cluster.local svc.cluster.local cluster.local\n"
                      f"nameserver {DNS_IP}\noptions ndots:5\n")  # fmt: skip
    assert hosts.startswith("# Kubernetes-managed hosts file.\n")
    assert f"{shop['client']['status']['podIP']}\tclient\n" in hosts
    assert hostname.strip() == "client"
    # Read-only, as the kubelet mounts them.
    assert docker_exec(shop["client"], "echo x >> /etc/resolv.conf").returncode != 0


def test_nslookup_and_http_by_short_name_and_fqdn(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    ns, client = shop["ns"], shop["client"]
    short = docker_exec(client, "nslookup api").stdout
    assert shop["ip"] in addresses(short), short
    fqdn = docker_exec(client, f"nslookup api.{ns}.svc.cluster.local.").stdout
    assert addresses(fqdn) == {shop["ip"]}, fqdn
    names = {p["metadata"]["name"] for p in shop["pods"]}
    # busybox-static's wget crashes when given -T; `timeout` bounds it instead.
    for url in ("http://api/", f"http://api.{ns}.svc.cluster.local/", f"http://api.{ns}/"):
        r = docker_exec(client, f"timeout 10 wget -q -O- {url}")
        assert r.returncode == 0 and r.stdout.strip() in names, (url, r.stdout, r.stderr)


def test_a_headless_service_answers_every_ready_pod(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    out = docker_exec(shop["client"], f"nslookup db.{shop['ns']}.svc.cluster.local.").stdout
    assert addresses(out) == {p["status"]["podIP"] for p in shop["pods"]}, out


def test_srv_for_a_named_port(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    ns = shop["ns"]
    name = f"_http._tcp.api.{ns}.svc.cluster.local."
    reply = query(name, "SRV")
    assert [str(rd) for rd in reply.answer[0]] == [f"0 100 80 api.{ns}.svc.cluster.local."]
    assert [str(rd) for rd in reply.additional[0]] == [shop["ip"]]
    # Asked at the DNS server's own address too (what kube-proxy sends the Service to).
    direct = query(f"_http._tcp.db.{ns}.svc.cluster.local.", "SRV", server=dns_cluster.dns_address)
    assert sorted(rd.port for rd in direct.answer[0]) == [8080, 8080]
    out = docker_exec(shop["client"], f"nslookup -type=srv {name}").stdout
    assert f"api.{ns}.svc.cluster.local" in out and " 80 " in out, out


def test_unknown_names_are_nxdomain(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    out = docker_exec(shop["client"], f"nslookup nope.{shop['ns']}.svc.cluster.local.").stdout
    assert "NXDOMAIN" in out, out
    reply = query(f"nope.{shop['ns']}.svc.cluster.local.")
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.authority[0].rdtype == dns.rdatatype.SOA


def test_other_names_go_only_to_the_nodes_resolvers(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    out = docker_exec(shop["client"], f"nslookup {OUTSIDE_NAME}").stdout
    assert addresses(out) == {OUTSIDE_IP}, out
    assert OUTSIDE_NAME in dns_cluster.upstream.asked


def _answers(name: str) -> set[str]:
    reply = query(name)
    return {str(rd) for rrset in reply.answer for rd in rrset}


def test_a_new_service_answers_within_a_second(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    c, ns = dns_cluster.cluster, shop["ns"]
    name = f"late.{ns}.svc.cluster.local."
    assert query(name).rcode() == dns.rcode.NXDOMAIN
    svc = c.create(f"/api/v1/namespaces/{ns}/services",
                   {"metadata": {"name": "late"}, "spec": {"selector": {"app": "late"}, "ports": [{"port": 80}]}})  # fmt: skip
    start = time.monotonic()
    while _answers(name) != {svc["spec"]["clusterIP"]}:
        assert time.monotonic() - start < 5, "no answer within 5 s"
        time.sleep(0.01)
    took = time.monotonic() - start
    print(f"service created -> answered through the kube-dns Service: {took * 1000:.0f} ms")
    assert took < 1.0


def test_a_pod_becoming_ready_answers_within_a_second(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    """A pod whose readiness probe passes once a file exists: from the moment the API shows it Ready (polled) to
    the moment the headless Service's name answers its address."""
    c, ns = dns_cluster.cluster, shop["ns"]
    c.create(f"/api/v1/namespaces/{ns}/services",
             {"metadata": {"name": "gate"}, "spec": {"selector": {"app": "gate"}, "clusterIP": "None",
                                                     "ports": [{"port": 80}]}})  # fmt: skip
    pod = {
        "metadata": {"name": "gate-0", "labels": {"app": "gate"}},
        "spec": {"nodeName": c.a.name, "hostname": "gate-0", "subdomain": "gate", "terminationGracePeriodSeconds": 0,
                 "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sleep", "3600"],
                                 "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]},
                                                    "periodSeconds": 1}}]},
    }  # fmt: skip
    c.create(f"/api/v1/namespaces/{ns}/pods", pod)
    running = c.wait_running(ns, "gate-0")
    ip = running["status"]["podIP"]
    name = f"gate.{ns}.svc.cluster.local."
    assert _answers(name) == set()
    docker_exec(running, "touch /tmp/ready")
    ready_at = answered_at = None
    deadline = time.monotonic() + 20
    while answered_at is None and time.monotonic() < deadline:
        if ready_at is None and c.ready_pods(ns, "app=gate"):
            ready_at = time.monotonic()
        if _answers(name) == {ip}:
            answered_at = time.monotonic()
        time.sleep(0.01)
    assert ready_at is not None and answered_at is not None
    took = answered_at - ready_at
    print(f"pod Ready in the API -> answered through the kube-dns Service: {took * 1000:.0f} ms")
    assert took < 1.0
    # Its hostname and subdomain: a name of its own, and the FQDN in its /etc/hosts.
    assert _answers(f"gate-0.gate.{ns}.svc.cluster.local.") == {ip}
    out = docker_exec(running, "hostname; cat /etc/hosts").stdout
    assert out.startswith("gate-0\n") and f"{ip}\tgate-0.gate.{ns}.svc.cluster.local\tgate-0\n" in out


def test_metrics_count_the_queries(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    text = httpx.get(f"http://127.0.0.1:{dns_cluster.metrics_port}/metrics", timeout=5).text
    assert 'coredns_dns_requests_total{family="1",proto="udp"' in text
    assert 'rcode="NXDOMAIN"' in text and "coredns_forward_requests_total" in text


def test_every_request_was_allowed_to_its_own_identity(dns_cluster: DNSCluster, shop: dict[str, Any]) -> None:
    """kube-dns ran as the ServiceAccount kube-system/kube-dns with its bootstrap roles, the kubelets (which wrote every pod's resolv.conf
    and hosts, and their events) as system:node:<name> through the Node authorizer and NodeRestriction: none of
    them was refused anything."""
    c = dns_cluster.cluster
    assert forbidden_lines(dns_cluster.log.read_text()) == []
    for kubelet in (c.a, c.b):
        assert forbidden_lines(kubelet.logs()) == [], kubelet.name
