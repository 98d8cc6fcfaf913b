"""kube-dns as a process against a real apiserver (embedded SQLite, HTTPS, Node+RBAC) and controller-manager,
queried over loopback: it runs as its own identity (the ServiceAccount kube-system/kube-dns, with its bootstrap
roles), publishes its Service
and endpoints, answers from its caches, follows changes within a second, serves health and metrics, and withdraws
its endpoints on SIGTERM; its identity can do what that takes and nothing more. No Docker: pods are made Ready by
writing their status."""

from __future__ import annotations

import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from tests.harness import (
    CONTROLLER_MANAGER,
    KUBE_DNS,
    ApiServer,
    forbidden_lines,
    free_port,
    running_apiserver,
    start_component,
    stop_process,
)
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(120)

SERVICE_RANGE = "10.0.0.0/27"  # 30 addresses: a static band of 16, a dynamic part of 14
# What the endpoints name: an address of the documentation range, never sent to (no kube-proxy runs here; the test
# queries the listener on 127.0.0.1, which the API would refuse as an endpoint).
ADVERTISED = "192.0.2.10"


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    data = tmp_path_factory.mktemp("dns-apiserver")
    with running_apiserver(
        None, ["--data-dir", str(data), "--service-cluster-ip-range", SERVICE_RANGE]
    ) as server:
        yield server


@pytest.fixture(scope="module")
def controller_manager(apiserver: ApiServer) -> Iterator[None]:
    proc, log = start_component(
        [
            "controller_manager",
            *apiserver.component_args(*CONTROLLER_MANAGER),
            "--root-ca-file",
            apiserver.ca_file,
            "--port",
            "0",
            "--controllers",
            "endpointslice,endpoints",
        ],
        "dns-cm",
    )
    yield
    stop_process(proc)
    log.unlink(missing_ok=True)


class KubeDNS:
    def __init__(self, apiserver: ApiServer, resolv_conf: Path) -> None:
        self.dns_port = free_port()
        self.metrics_port = free_port()
        self.proc, self.log = start_component(
            ["kube_dns", *apiserver.component_args(*KUBE_DNS), "--bind-address", "127.0.0.1", "--dns-port", str(self.dns_port),
             "--metrics-port", str(self.metrics_port), "--service-cluster-ip-range", SERVICE_RANGE,
             "--resolv-conf", str(resolv_conf), "--advertise-address", ADVERTISED],
            "kube-dns",
        )  # fmt: skip

    def query(self, name: str, qtype: str = "A", tcp: bool = False) -> dns.message.Message:
        q = dns.message.make_query(name, qtype)
        send = dns.query.tcp if tcp else dns.query.udp
        return send(q, "127.0.0.1", timeout=2, port=self.dns_port)

    def answers(self, name: str, qtype: str = "A") -> list[str]:
        reply = self.query(name, qtype)
        return sorted(str(rd) for rrset in reply.answer for rd in rrset)


@pytest.fixture(scope="module")
def kube_dns(
    apiserver: ApiServer, controller_manager: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeDNS]:
    with apiserver.client() as api:
        # Fill the dynamic part of the range first: kube-dns's address (the 10th) must still be free after.
        api.post("/api/v1/namespaces", json={"metadata": {"name": "fill"}})
        for i in range(14):
            r = api.post("/api/v1/namespaces/fill/services", json=svc(f"f{i}"))
            assert r.status_code == 201, r.text
            assert int(r.json()["spec"]["clusterIP"].rsplit(".", 1)[1]) > 16  # outside the static band
    resolv = tmp_path_factory.mktemp("dns") / "resolv.conf"
    resolv.write_text("# no upstream: names outside the cluster fail here, they never leave the machine\n")
    server = KubeDNS(apiserver, resolv)
    try:
        wait_until(
            lambda: server.query("kubernetes.default.svc.cluster.local.") is not None, 20, what="kube-dns up"
        )
        yield server
    finally:
        stop_process(server.proc)
        print(server.log.read_text()[-3000:])  # shown when a test of this module fails
        server.log.unlink(missing_ok=True)


def svc(name: str, **spec: object) -> dict:
    return {"metadata": {"name": name}, "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                                                 "selector": {"app": name}, **spec}}  # fmt: skip


def test_it_publishes_its_service_at_the_tenth_address_and_its_endpoints(apiserver, kube_dns):
    with apiserver.client() as api:
        service = wait_until(lambda: _ok(api.get("/api/v1/namespaces/kube-system/services/kube-dns")), 10)
        assert service["spec"]["clusterIP"] == "10.0.0.10"
        assert [(p["name"], p["protocol"], p["port"]) for p in service["spec"]["ports"]] == [
            ("dns", "UDP", 53), ("dns-tcp", "TCP", 53), ("metrics", "TCP", 9153)]  # fmt: skip
        assert "selector" not in service["spec"] and service["metadata"]["labels"]["k8s-app"] == "kube-dns"
        path = "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns"
        eps = wait_until(lambda: (_ok(api.get(path)) or {}).get("endpoints"), 10, what="kube-dns endpoints")
        assert eps == [
            {"addresses": [ADVERTISED], "conditions": {"ready": True, "serving": True, "terminating": False}}
        ]
        slice_ = api.get(path).json()
        assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
        assert {(p["name"], p["port"]) for p in slice_["ports"]} == {
            ("dns", kube_dns.dns_port), ("dns-tcp", kube_dns.dns_port), ("metrics", kube_dns.metrics_port)}  # fmt: skip
        endpoints = api.get("/api/v1/namespaces/kube-system/endpoints/kube-dns").json()
        assert endpoints["subsets"][0]["addresses"] == [{"ip": ADVERTISED}]
    assert kube_dns.answers("kube-dns.kube-system.svc.cluster.local.") == ["10.0.0.10"]
    assert kube_dns.answers("ns.dns.cluster.local.") == ["10.0.0.10"]


def _ok(r: httpx.Response) -> dict | None:
    return r.json() if r.status_code == 200 else None


def _first_answer_after(kube_dns: KubeDNS, name: str, expect: list[str], timeout: float = 5.0) -> float:
    """Seconds until `name` answers `expect`, polling every 5 ms."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if kube_dns.answers(name) == expect:
            return time.monotonic() - start
        time.sleep(0.005)
    raise AssertionError(f"{name} did not answer {expect} within {timeout}s: {kube_dns.answers(name)}")


def test_a_new_service_answers_within_a_second(apiserver, kube_dns):
    ns = f"n{uuid.uuid4().hex[:6]}"
    with apiserver.client() as api:
        api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        name = f"api.{ns}.svc.cluster.local."
        assert kube_dns.query(name).rcode() == dns.rcode.NXDOMAIN
        r = api.post(f"/api/v1/namespaces/{ns}/services", json=svc("api"))
        assert r.status_code == 201, r.text
        took = _first_answer_after(kube_dns, name, [r.json()["spec"]["clusterIP"]])
    print(f"service created -> answered: {took * 1000:.0f} ms")
    assert took < 1.0, took
    srv = kube_dns.query(f"_http._tcp.api.{ns}.svc.cluster.local.", "SRV", tcp=True)
    assert [str(rd) for rd in srv.answer[0]] == [f"0 100 80 api.{ns}.svc.cluster.local."]


def test_a_pod_becoming_ready_answers_within_a_second(apiserver, kube_dns):
    ns = f"n{uuid.uuid4().hex[:6]}"
    with apiserver.client() as api:
        api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        assert (
            api.post(f"/api/v1/namespaces/{ns}/services", json=svc("db", clusterIP="None")).status_code == 201
        )
        pod = {"metadata": {"name": "db-0", "labels": {"app": "db"}},
               "spec": {"hostname": "db-0", "subdomain": "db", "nodeName": "nowhere",
                        "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 8080}]}]}}  # fmt: skip
        assert api.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
        status = {"status": {"phase": "Running", "podIP": "10.244.9.9", "podIPs": [{"ip": "10.244.9.9"}],
                             "conditions": [{"type": "Ready", "status": "True"}]}}  # fmt: skip
        r = api.patch(f"/api/v1/namespaces/{ns}/pods/db-0/status", json=status,
                      headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
        assert r.status_code == 200, r.text
        took = _first_answer_after(kube_dns, f"db.{ns}.svc.cluster.local.", ["10.244.9.9"])
    print(f"pod Ready -> answered: {took * 1000:.0f} ms")
    assert took < 1.0, took
    assert kube_dns.answers(f"db-0.db.{ns}.svc.cluster.local.") == ["10.244.9.9"]
    assert kube_dns.answers(f"10-244-9-9.{ns}.pod.cluster.local.") == ["10.244.9.9"]
    assert kube_dns.answers("9.9.244.10.in-addr.arpa.", "PTR") == [f"db-0.db.{ns}.svc.cluster.local."]


def test_unknown_names_outside_names_health_and_metrics(kube_dns):
    reply = kube_dns.query("nope.default.svc.cluster.local.")
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.authority
    # No upstream in its resolv.conf: a name outside the cluster is a SERVFAIL, sent nowhere.
    assert kube_dns.query("example.invalid.").rcode() == dns.rcode.SERVFAIL
    base = f"http://127.0.0.1:{kube_dns.metrics_port}"
    assert httpx.get(base + "/healthz").text == "ok" and httpx.get(base + "/readyz").status_code == 200
    text = httpx.get(base + "/metrics").text
    assert 'coredns_dns_responses_total{rcode="NXDOMAIN"' in text
    assert "coredns_dns_request_duration_seconds_bucket" in text and 'type="A"' in text


def test_the_dns_port_is_served_over_tcp_too(kube_dns):
    reply = kube_dns.query("kube-dns.kube-system.svc.cluster.local.", tcp=True)
    assert [str(rd) for rrset in reply.answer for rd in rrset] == ["10.0.0.10"]
    with socket.create_connection(("127.0.0.1", kube_dns.dns_port), timeout=2) as s:
        s.sendall(b"\x00\x05junk!")  # shorter than a DNS header: no answer, the connection closes (no hang)
        assert s.recv(100) == b""


def test_it_runs_as_its_own_identity_and_nothing_it_asks_is_refused(apiserver, kube_dns):
    """Everything above (its informers, creating the Service, keeping the slice and Endpoints) was done as
    the ServiceAccount kube-system/kube-dns, with its bootstrap roles only: no request of its was refused."""
    assert forbidden_lines(kube_dns.log.read_text()) == []
    with apiserver.client(user=KUBE_DNS[0], groups=KUBE_DNS[1]) as dns_api:
        who = dns_api.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={
            "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})  # fmt: skip
        user = who.json()["status"]["userInfo"]
    assert user["username"] == "system:serviceaccount:kube-system:kube-dns", who.text
    assert set(user["groups"]) == {"system:serviceaccounts", "system:serviceaccounts:kube-system",
                                   "system:authenticated"}  # fmt: skip


# What kube-dns's identity may not do: (method, path, body). Its roles allow list/watch of services, pods and
# endpointslices everywhere, and in kube-system: create services, endpoints and endpointslices, and read and
# update the `kube-dns` Endpoints and EndpointSlice only.
_SLICES = "/apis/discovery.k8s.io/v1/namespaces"
REFUSED = [
    ("GET", "/api/v1/secrets", None),
    ("GET", "/api/v1/namespaces/kube-system/secrets", None),
    ("GET", "/api/v1/namespaces/kube-system/configmaps", None),
    ("GET", "/api/v1/nodes", None),
    ("GET", "/api/v1/namespaces/kube-system/services/kube-dns", None),  # a get: it reads through its informers
    ("GET", "/api/v1/endpoints", None),  # only its own, watched by name
    ("GET", "/api/v1/namespaces/kube-system/endpoints", None),
    ("POST", "/api/v1/namespaces/default/services", {"metadata": {"name": "x"}, "spec": {"ports": [{"port": 1}]}}),
    ("POST", "/api/v1/namespaces/default/endpoints", {"metadata": {"name": "x"}}),
    ("POST", "/api/v1/namespaces/kube-system/pods",
     {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}),
    ("PUT", "/api/v1/namespaces/kube-system/services/kube-dns", {"metadata": {"name": "kube-dns"}}),
    ("DELETE", "/api/v1/namespaces/kube-system/services/kube-dns", None),
    ("DELETE", "/api/v1/namespaces/kube-system/endpoints/kube-dns", None),
    ("DELETE", f"{_SLICES}/kube-system/endpointslices/kube-dns", None),
    ("PUT", "/api/v1/namespaces/kube-system/endpoints/kube-dns-other", {"metadata": {"name": "kube-dns-other"}}),
    ("PUT", f"{_SLICES}/default/endpointslices/kube-dns",
     {"metadata": {"name": "kube-dns"}, "addressType": "IPv4", "endpoints": []}),
    ("PATCH", "/api/v1/namespaces/kube-system/endpoints/kube-dns", {"subsets": []}),
    ("POST", "/api/v1/namespaces/default/pods/x/eviction", {"metadata": {"name": "x"}}),
    ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {"metadata": {"name": "x"}}),
    ("POST", "/api/v1/namespaces/kube-system/serviceaccounts/default/token", {}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), REFUSED, ids=[f"{m} {p}" for m, p, _ in REFUSED])
def test_its_identity_can_do_no_more_than_it_needs(apiserver, kube_dns, method, path, body):
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    with apiserver.client(user=KUBE_DNS[0], groups=KUBE_DNS[1]) as dns_api:
        r = dns_api.request(method, path, json=body, headers=headers)
    assert r.status_code == 403, r.text
    assert r.json()["reason"] == "Forbidden" and f'User "{KUBE_DNS[0]}" cannot' in r.json()["message"]


def test_its_identity_reads_what_it_serves(apiserver, kube_dns):
    """The other side of the table above: the reads its informers make are allowed (so the 403s are about
    scope, not a broken credential)."""
    with apiserver.client(user=KUBE_DNS[0], groups=KUBE_DNS[1]) as dns_api:
        for path in ("/api/v1/services", "/api/v1/pods", "/apis/discovery.k8s.io/v1/endpointslices",
                     "/api/v1/namespaces/kube-system/endpoints?fieldSelector=metadata.name%3Dkube-dns"):  # fmt: skip
            assert dns_api.get(path).status_code == 200, path


def test_sigterm_withdraws_the_endpoints(apiserver, kube_dns):
    """Last in this module: it stops the module's kube-dns."""
    path = "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns"
    with apiserver.client() as api:
        assert api.get(path).json()["endpoints"]
        kube_dns.proc.send_signal(signal.SIGTERM)
        assert kube_dns.proc.wait(10) == 0
        assert api.get(path).json()["endpoints"] == []
