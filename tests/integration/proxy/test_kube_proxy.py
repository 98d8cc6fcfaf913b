"""kube-proxy as a process against the real apiserver, without Docker: EndpointSlices (what kube-proxy reads by
default) and Endpoints (with --endpoints-source=endpoints) are written by hand.

What it programs is read back with iptables-save and `ip`; the userspace test proxies a service address to a
server on 127.0.0.1. Nothing is sent anywhere but loopback and local addresses, and only after kube-proxy's
guard routes exist (it creates them before it writes anything; the tests wait for /healthz, i.e. a first sync).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from kube_proxy import netif
from tests.factories import Obj
from tests.harness import ApiServer
from tests.integration.proxy.helpers import (
    KubeProxyProc,
    local_address,
    need_iptables,
    our_lines,
    run_cleanup,
    service_lines,
)
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]


@pytest.fixture
def proxy(apiserver: ApiServer) -> Iterator[KubeProxyProc]:
    need_iptables()
    p = KubeProxyProc(apiserver)
    try:
        yield p
    finally:
        p.cleanup()


def _service(api: httpx.Client, ns: str, name: str, **spec: Any) -> Obj:
    body = {"metadata": {"name": name}, "spec": {"ports": [{"port": 80, "targetPort": 8080}], **spec}}
    r = api.post(f"/api/v1/namespaces/{ns}/services", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _endpoints(api: httpx.Client, ns: str, name: str, ips: list[str], port: int = 8080) -> None:
    """The Service's endpoints as an EndpointSlice, written as the endpointslice controller would."""
    body: Obj = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{name}-hand", "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4",
        "ports": [{"name": "", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
    }
    path = f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
    r = api.get(f"{path}/{name}-hand")
    if r.status_code == 404:
        r = api.post(path, json=body)
    else:
        body["metadata"]["resourceVersion"] = r.json()["metadata"]["resourceVersion"]
        r = api.put(f"{path}/{name}-hand", json=body)
    assert r.status_code in (200, 201), r.text


def _legacy_endpoints(api: httpx.Client, ns: str, name: str, ips: list[str], port: int = 8080) -> None:
    """The Service's endpoints as a v1 Endpoints object."""
    subsets = [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": port}]}] if ips else []
    body: Obj = {"metadata": {"name": name}, "subsets": subsets}
    r = api.get(f"/api/v1/namespaces/{ns}/endpoints/{name}")
    if r.status_code == 404:
        r = api.post(f"/api/v1/namespaces/{ns}/endpoints", json=body)
    else:
        body["metadata"]["resourceVersion"] = r.json()["metadata"]["resourceVersion"]
        r = api.put(f"/api/v1/namespaces/{ns}/endpoints/{name}", json=body)
    assert r.status_code in (200, 201), r.text


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert m, name
    return float(m.group(1))


def test_rules_follow_services_and_endpoints_and_go_away_on_sigterm(
    api: httpx.Client, ns: str, proxy: KubeProxyProc
) -> None:
    proxy.start()
    assert (
        netif.GUARD_DEVICE
        in subprocess.run(["ip", "route", "show", "10.96.0.0/12"], capture_output=True, text=True).stdout
    )
    assert Path("/proc/sys/net/ipv4/conf/all/route_localnet").read_text().strip() == "1"
    svc = _service(api, ns, "web", type="NodePort")
    _endpoints(api, ns, "web", ["10.244.77.2", "10.244.77.3"])
    lines = wait_until(
        lambda: [x for x in service_lines(ns, "web") if "DNAT" in x and "10.244.77.3" in x],
        10,
        what="DNAT rules",
    )
    assert lines
    text = "\n".join(our_lines())
    assert f"-d {svc['spec']['clusterIP']}/32" in text
    assert f"--dport {svc['spec']['ports'][0]['nodePort']}" in text
    assert "-A DOCKER-USER -m conntrack --ctstate DNAT" in text or not _has_docker_user()
    # Endpoint removed: its chain goes, the other stays.
    _endpoints(api, ns, "web", ["10.244.77.2"])
    wait_until(lambda: not any("10.244.77.3" in x for x in our_lines()), 10, what="endpoint chain removed")
    assert any("10.244.77.2:8080" in x for x in our_lines())
    # No endpoints at all: REJECT in filter, no nat chains for it.
    _endpoints(api, ns, "web", [])
    wait_until(lambda: any("has no endpoints" in x for x in service_lines(ns, "web")), 10, what="REJECT rule")
    metrics = proxy.metrics()
    assert _metric(metrics, "kubeproxy_sync_proxy_rules_duration_seconds_count") >= 1
    assert 'kubeproxy_sync_proxy_rules_iptables_total{table="nat"}' in metrics
    assert proxy.stop() == 0
    assert our_lines() == []


def test_the_endpoints_source_flag_chooses_slices_or_endpoints(
    api: httpx.Client, ns: str, proxy: KubeProxyProc, apiserver: ApiServer
) -> None:
    # One Service, its slice and its Endpoints disagreeing: each kube-proxy programs only its own source.
    _service(api, ns, "src")
    _endpoints(api, ns, "src", ["10.244.82.2"])
    _legacy_endpoints(api, ns, "src", ["10.244.82.3"])
    proxy.start()
    wait_until(
        lambda: any("10.244.82.2:8080" in x for x in service_lines(ns, "src")), 10, what="slice endpoint"
    )
    assert not any("10.244.82.3" in x for x in service_lines(ns, "src"))
    assert proxy.stop() == 0
    legacy = KubeProxyProc(apiserver, extra=["--endpoints-source", "endpoints"])
    try:
        legacy.start()
        wait_until(
            lambda: any("10.244.82.3:8080" in x for x in service_lines(ns, "src")),
            10,
            what="Endpoints endpoint",
        )
        assert not any("10.244.82.2" in x for x in service_lines(ns, "src"))
        assert legacy.stop() == 0
    finally:
        legacy.cleanup()


def _has_docker_user() -> bool:
    return subprocess.run(["iptables", "-w", "-S", "DOCKER-USER"], capture_output=True).returncode == 0


def test_a_burst_of_endpoint_changes_costs_few_syncs(
    api: httpx.Client, ns: str, proxy: KubeProxyProc
) -> None:
    proxy.extra = ["--min-sync-period", "1"]  # the later flag wins
    proxy.start()
    _service(api, ns, "burst")
    wait_until(lambda: service_lines(ns, "burst"), 10, what="burst service rules")
    before = _metric(proxy.metrics(), "kubeproxy_sync_proxy_rules_duration_seconds_count")
    for i in range(30):
        _endpoints(api, ns, "burst", [f"10.244.78.{i + 2}"])
    wait_until(
        lambda: any("10.244.78.31:8080" in x for x in service_lines(ns, "burst")), 10, what="last update"
    )
    syncs = _metric(proxy.metrics(), "kubeproxy_sync_proxy_rules_duration_seconds_count") - before
    assert 1 <= syncs <= 6, syncs  # 30 writes in about a second or two, at most one sync per second


def test_restart_after_kill_rewrites_rules_and_cleanup_removes_everything(
    api: httpx.Client, ns: str, proxy: KubeProxyProc
) -> None:
    proxy.start()
    _service(api, ns, "keep")
    _endpoints(api, ns, "keep", ["10.244.79.2"])
    wait_until(lambda: any("DNAT" in x for x in service_lines(ns, "keep")), 10, what="keep rules")
    proxy.kill()
    subprocess.run(["iptables", "-w", "-t", "nat", "-F", "KUBE-SERVICES"], check=True)
    subprocess.run(
        [
            "iptables",
            "-w",
            "-t",
            "nat",
            "-D",
            "PREROUTING",
            "-m",
            "comment",
            "--comment",
            "kubernetes service portals",
            "-j",
            "KUBE-SERVICES",
        ],
        check=True,
    )
    proxy.start()
    wait_until(
        lambda: any(x.startswith("-A KUBE-SERVICES") for x in service_lines(ns, "keep")),
        10,
        what="rules rewritten",
    )
    assert any(x.startswith("-A PREROUTING") and "KUBE-SERVICES" in x for x in our_lines())
    proxy.kill()
    out = run_cleanup()
    assert out.returncode == 0, out.stderr
    assert our_lines() == []
    assert subprocess.run(["ip", "link", "show", netif.GUARD_DEVICE], capture_output=True).returncode != 0


def test_cleanup_refuses_while_a_kube_proxy_runs(api: httpx.Client, ns: str, proxy: KubeProxyProc) -> None:
    proxy.start()
    _service(api, ns, "guarded")
    _endpoints(api, ns, "guarded", ["10.244.80.2"])
    wait_until(lambda: any("DNAT" in x for x in service_lines(ns, "guarded")), 10, what="rules")
    out = run_cleanup()
    assert out.returncode == 1 and "holds the lock" in out.stderr
    assert subprocess.run(["ip", "link", "show", netif.GUARD_DEVICE], capture_output=True).returncode == 0
    assert any("DNAT" in x for x in service_lines(ns, "guarded"))


def test_a_second_kube_proxy_waits_for_the_first_then_takes_over(
    api: httpx.Client, ns: str, proxy: KubeProxyProc, apiserver: ApiServer
) -> None:
    proxy.start()
    _service(api, ns, "shared")
    _endpoints(api, ns, "shared", ["10.244.81.2"])
    wait_until(lambda: any("DNAT" in x for x in service_lines(ns, "shared")), 10, what="rules")
    second = KubeProxyProc(apiserver)
    try:
        second.start(wait=False)
        wait_until(lambda: "waiting for it to exit" in second.logs(), 10, what="second one waiting")
        assert not _healthy(second)  # it touches nothing while it waits
        assert proxy.stop() == 0  # the first removes its rules on the way out ...
        # ... and the second takes over and writes them again.
        wait_until(second.healthy, 15, what="second one healthy")
        wait_until(lambda: any("DNAT" in x for x in service_lines(ns, "shared")), 10, what="rules rewritten")
        refused = run_cleanup()
        assert refused.returncode == 1
        assert second.stop() == 0
        assert our_lines() == []
    finally:
        second.cleanup()


def _healthy(p: KubeProxyProc) -> bool:
    try:
        return p.healthy()
    except httpx.HTTPError:
        return False


class _NameHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


BACKEND_IP = "10.244.251.1"  # Endpoints may not be loopback addresses: a dummy device holds this one


@pytest.fixture
def backends() -> Iterator[list[int]]:
    need_iptables()
    with local_address(BACKEND_IP):
        yield from _serve_names()


def _serve_names() -> Iterator[list[int]]:
    servers = []
    for name in ("one", "two"):
        srv = ThreadingHTTPServer((BACKEND_IP, 0), _NameHandler)
        srv.name = name  # type: ignore[attr-defined]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    yield [s.server_address[1] for s in servers]
    for s in servers:
        s.shutdown()
        s.server_close()


def test_userspace_mode_proxies_cluster_ip_and_node_port_round_robin(
    api: httpx.Client, ns: str, backends: list[int], apiserver: ApiServer
) -> None:
    need_iptables()
    # Loopback backends: Endpoints accept them; EndpointSlice validation refuses 127.0.0.0/8, as upstream.
    proxy = KubeProxyProc(apiserver, mode="userspace", extra=["--endpoints-source", "endpoints"])
    try:
        proxy.start()
        svc = _service(api, ns, "us", type="NodePort", sessionAffinity="None")
        body = {
            "metadata": {"name": "us"},
            "subsets": [
                {"addresses": [{"ip": BACKEND_IP}], "ports": [{"port": backends[0]}]},
            ],
        }
        assert api.post(f"/api/v1/namespaces/{ns}/endpoints", json=body).status_code == 201
        ip = svc["spec"]["clusterIP"]
        wait_until(lambda: ip in netif_addresses(), 10, what="cluster IP on the guard device")
        wait_until(lambda: httpx.get(f"http://{ip}/", timeout=2).text == "one", 10, what="proxied GET")
        node_port = svc["spec"]["ports"][0]["nodePort"]
        assert httpx.get(f"http://127.0.0.1:{node_port}/", timeout=2).text == "one"
        assert our_lines() == []  # userspace mode never touches iptables
        # Two endpoints on distinct ports: the subsets differ by port, so the port name "" has both.
        body = api.get(f"/api/v1/namespaces/{ns}/endpoints/us").json()
        body["subsets"].append({"addresses": [{"ip": BACKEND_IP}], "ports": [{"port": backends[1]}]})
        assert api.put(f"/api/v1/namespaces/{ns}/endpoints/us", json=body).status_code == 200
        wait_until(
            lambda: {httpx.get(f"http://{ip}/", timeout=2).text for _ in range(4)} == {"one", "two"},
            10,
            what="both backends in rotation",
        )
        assert proxy.stop() == 0
        assert ip not in netif_addresses()
        with pytest.raises(OSError):
            socket.create_connection((ip, 80), timeout=1).close()
    finally:
        proxy.cleanup()


def netif_addresses() -> set[str]:
    out = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "dev", netif.GUARD_DEVICE], capture_output=True, text=True
    ).stdout
    return {a["local"] for link in json.loads(out or "[]") for a in link.get("addr_info", [])}
