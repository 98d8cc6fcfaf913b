"""Hostile Services and Endpoints written straight into etcd, past the API's validation: kube-proxy refuses each
bad value (a log line, a Warning Event), programs everything else, and nothing reaches a command as an extra line.

Run under the host lock (iptables, `ip`). Addresses: service CIDR and load-balancer pool only (guarded by
kube-proxy's device), pod addresses in 10.244.0.0/16; no traffic is sent.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness import ApiServer, Etcd
from tests.integration.proxy.helpers import (
    KubeProxyProc,
    iptables_save,
    need_iptables,
    our_lines,
    service_lines,
)
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]

INJECTED = "-A KUBE-SERVICES -j ACCEPT"


def put_raw(etcd: Etcd, key: str, obj: dict[str, Any]) -> None:
    """Straight into etcd with etcdctl: no validation, no admission."""
    obj["metadata"].setdefault("uid", str(uuid.uuid4()))
    obj["metadata"].setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
    subprocess.run(
        [shutil.which("etcdctl") or "/usr/bin/etcdctl", "--endpoints", etcd.url, "put", key],
        input=json.dumps(obj).encode(),
        check=True,
        capture_output=True,
        env={**os.environ, "ETCDCTL_API": "3"},
        timeout=20,
    )


def raw_service(ns: str, name: str, **spec: Any) -> dict[str, Any]:
    ip = f"10.96.{random.randint(200, 250)}.{random.randint(2, 250)}"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                     "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], **spec}}  # fmt: skip


def raw_endpoints(ns: str, name: str, *ips: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 8080, "protocol": "TCP"}]}]}  # fmt: skip


def raw_slice(ns: str, name: str, *ips: str) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-x", "namespace": ns, "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
            "ports": [{"name": "", "port": 8080, "protocol": "TCP"}]}  # fmt: skip


def put_endpoints(etcd: Etcd, source: str, ns: str, name: str, *ips: str) -> None:
    """The endpoints of service `name` as the kube-proxy under test reads them, straight into etcd."""
    if source == "endpoints":
        put_raw(etcd, f"/registry/endpoints/{ns}/{name}", raw_endpoints(ns, name, *ips))
    else:
        put_raw(etcd, f"/registry/endpointslices/{ns}/{name}-x", raw_slice(ns, name, *ips))


def events(api: httpx.Client, ns: str, reason: str) -> dict[str, str]:
    """involvedObject kind/name -> the messages of its Events with `reason`, joined."""
    found: dict[str, str] = {}
    for e in api.get(f"/api/v1/namespaces/{ns}/events").json()["items"]:
        if e.get("reason") == reason:
            key = f"{e['involvedObject'].get('kind')}/{e['involvedObject']['name']}"
            found[key] = found.get(key, "") + e["message"] + "\n"
    return found


@pytest.fixture(params=["endpoints", "endpointslices"])
def source(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def proxy(apiserver: ApiServer, source: str) -> Iterator[KubeProxyProc]:
    need_iptables()
    p = KubeProxyProc(apiserver, extra=["--endpoints-source", source])
    try:
        yield p
    finally:
        p.cleanup()


def test_iptables_mode_skips_bad_values_and_programs_the_rest(
    api: httpx.Client, ns: str, etcd: Etcd, proxy: KubeProxyProc, source: str
) -> None:
    proxy.start()
    good = raw_service(ns, "good")
    put_raw(etcd, f"/registry/services/{ns}/good", good)
    put_endpoints(etcd, source, ns, "good", "10.244.82.2")
    lb = raw_service(ns, "evil-lb", type="LoadBalancer")
    lb["spec"]["ports"][0]["nodePort"] = 31999
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": f"10.250.0.9\n{INJECTED}"}, {"ip": "10.250.0.8"}]}}
    put_raw(etcd, f"/registry/services/{ns}/evil-lb", lb)
    put_endpoints(etcd, source, ns, "evil-lb", f"10.244.82.3\n{INJECTED}", "10.244.82.4")
    put_raw(etcd, f"/registry/services/{ns}/web\n", raw_service(ns, "web\n"))
    put_raw(
        etcd,
        f"/registry/services/{ns}/evil-ext",
        raw_service(ns, "evil-ext", externalIPs=["fe80::1%x\nnetns add pwn"]),
    )

    wait_until(
        lambda: any("10.244.82.2:8080" in x for x in service_lines(ns, "good")), 20, what="good service"
    )
    wait_until(
        lambda: any("10.244.82.4:8080" in x for x in service_lines(ns, "evil-lb")), 20, what="valid part"
    )
    text = iptables_save()
    assert INJECTED not in text.splitlines()
    assert "10.244.82.3" not in text and "10.250.0.9" not in text and "netns" not in text
    lines = "\n".join(service_lines(ns, "evil-lb"))
    assert "-d 10.250.0.8/32" in lines and "--dport 31999" in lines
    assert any(f"-d {good['spec']['clusterIP']}/32" in x for x in our_lines())
    assert proxy.healthy()
    endpoints_object, bad_field = (
        ("Endpoints/evil-lb", "subsets[0].addresses[0].ip")
        if source == "endpoints"
        else ("EndpointSlice/evil-lb-x", "endpoints[0].addresses[0]")
    )
    wanted = {"Service/evil-lb", endpoints_object, "Service/web\n", "Service/evil-ext"}
    found = wait_until(lambda: (e := events(api, ns, "RejectedByKubeProxy")) and wanted <= set(e) and e, 15,
                       what="events about the refused values")  # fmt: skip
    assert "status.loadBalancer.ingress[].ip" in found["Service/evil-lb"]
    assert "not an IPv4 address" in found["Service/evil-lb"]
    assert bad_field in found[endpoints_object]
    assert "metadata.name" in found["Service/web\n"] and "spec.externalIPs[0]" in found["Service/evil-ext"]
    assert "value not programmed" in proxy.logs()


def test_userspace_mode_never_feeds_a_zone_to_ip_batch(
    api: httpx.Client, ns: str, etcd: Etcd, apiserver: ApiServer
) -> None:
    need_iptables()
    proxy = KubeProxyProc(apiserver, mode="userspace")
    before = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    try:
        proxy.start()
        svc = raw_service(
            ns, "zone", externalIPs=["fe80::1%x\nnetns add kubelite-pwn\nlink add klpwn type dummy"]
        )
        put_raw(etcd, f"/registry/services/{ns}/zone", svc)
        good = raw_service(ns, "fine")
        put_raw(etcd, f"/registry/services/{ns}/fine", good)
        wait_until(lambda: good["spec"]["clusterIP"] in _guard_addresses(), 20, what="the good cluster IP")
        assert (
            svc["spec"]["clusterIP"] in _guard_addresses()
        )  # the service itself is proxied, its bad IP is not
        after = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert "kubelite-pwn" not in after and after == before
        assert subprocess.run(["ip", "link", "show", "klpwn"], capture_output=True).returncode != 0
        wait_until(lambda: "Service/zone" in events(api, ns, "RejectedByKubeProxy"), 15, what="event")
    finally:
        proxy.cleanup()
        subprocess.run(["ip", "netns", "del", "kubelite-pwn"], capture_output=True)
        subprocess.run(["ip", "link", "del", "klpwn"], capture_output=True)


def _guard_addresses() -> set[str]:
    out = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "dev", "kubelite-svc"], capture_output=True, text=True
    ).stdout
    return {a["local"] for link in json.loads(out or "[]") for a in link.get("addr_info", [])}
