"""`kctl up` where the machine says no (tests/e2e/up/confined.py): it states each degradation once, in plain words,
the components carry on instead of crash-looping, and the README's web page is still served on 127.0.0.1:30080.

* a container's view: /proc/sys read-only (route_localnet 0, so NodePorts on 127.0.0.1 go through kube-proxy's
  userspace path while the rest stays in iptables), IPv6 off;
* a bare machine: no iptables at all (kube-proxy in userspace mode, no host rules, no portmap).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.up.confined import NODE_IP, ConfinedMachine
from tests.e2e.up.helpers import UP_MARKS, UpCluster, tear_down
from tests.harness import REPO, docker_ok
from tests.polling import wait_until

pytestmark = UP_MARKS

WEB = REPO / "examples" / "web.yaml"
NODE_PORT = 30080
HOST_PORT = 18080
# A hostPort is not allowed at Pod Security's baseline level, which `kctl up` enforces on user namespaces.
HOSTPORT_NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "hostport", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}},
}
HOSTPORT_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "hostport", "namespace": "hostport"},
    "spec": {
        "containers": [
            {
                "name": "httpd",
                "image": "kubelite/busybox:1",
                "command": [
                    "sh",
                    "-c",
                    "mkdir -p /www; echo hostport > /www/index.html; exec httpd -f -p 80 -h /www",
                ],
                "ports": [{"containerPort": 80, "hostPort": HOST_PORT}],
            }
        ]
    },
}


@pytest.fixture
def confined(request: pytest.FixtureRequest) -> Iterator[tuple[ConfinedMachine, UpCluster]]:
    if not docker_ok() or os.geteuid() != 0:
        pytest.skip("needs root and a Docker engine (namespaces, bridges)")
    machine = ConfinedMachine(**request.param)
    machine.start()
    cluster = UpCluster(Path(tempfile.mkdtemp(prefix="kubelite-confined-")), prefix=machine.argv())
    try:
        yield machine, cluster
    finally:
        tear_down(cluster)
        machine.stop()


def _up(cluster: UpCluster) -> tuple[str, str, list[str]]:
    """`kctl up`: its output, its stderr, and the first line of each note in it."""
    r = cluster.kctl(*cluster.up_args())
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\nkube-proxy:\n{cluster.log('kube-proxy')}"
    notes = [line.removeprefix("note: ") for line in r.stderr.splitlines() if line.startswith("note: ")]
    return r.stdout, r.stderr, notes


def _ready_web_pods(cluster: UpCluster) -> list[dict[str, Any]]:
    r = cluster.kctl("get", "pods", "-l", "app=web", "-o", "json")
    assert r.returncode == 0, r.stderr
    return [
        p
        for p in json.loads(r.stdout)["items"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
    ]


def _serve_the_example(machine: ConfinedMachine, cluster: UpCluster) -> str:
    """Apply examples/web.yaml; wait for both pods; return the page from 127.0.0.1:30080 (read inside)."""
    applied = cluster.kctl("apply", "-f", str(WEB))
    assert applied.returncode == 0, applied.stderr
    wait_until(lambda: len(_ready_web_pods(cluster)) == 2, 90, 0.5, what="2 ready web pods")
    return wait_until(
        lambda: machine.http_get(f"http://127.0.0.1:{NODE_PORT}/"), 30, 0.3, what="the page on 127.0.0.1"
    )


def _restarts(cluster: UpCluster) -> dict[str, int]:
    return {name: c["restarts"] for name, c in cluster.status().items()}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("confined", [{"read_only_sysctl": True, "ipv6": False}], indirect=True)
def test_read_only_proc_sys_and_no_ipv6(confined: tuple[ConfinedMachine, UpCluster]) -> None:
    machine, cluster = confined
    out, err, notes = _up(cluster)
    assert len(notes) == 1, err  # said once, and nothing else is degraded (IPv6 is not needed)
    assert notes[0].startswith(
        "/proc/sys is read-only here, so kube-proxy cannot set net.ipv4.conf.all.route_localnet=1"
    )
    assert "still works: NodePorts on 127.0.0.1 are served by kube-proxy's userspace proxy" in err
    assert "for the rest: run where /proc/sys is writable" in err
    assert "kube-proxy: iptables mode" in out

    page = _serve_the_example(machine, cluster)
    assert page.startswith("Hello from kubelite! Served by pod web-")
    # The machine's own address and the ClusterIP still go through iptables (DNAT, no route_localnet needed).
    assert machine.http_get(f"http://{NODE_IP}:{NODE_PORT}/").startswith("Hello from kubelite")
    svc = json.loads(cluster.kctl("get", "svc", "web", "-o", "json").stdout)
    assert machine.http_get(f"http://{svc['spec']['clusterIP']}/").startswith("Hello from kubelite")
    nat = machine.run("iptables-save", "-t", "nat").stdout
    assert "! -d 127.0.0.0/8" in nat and "--dport 30080" in nat
    # A hostPort: CNI portmap runs without snat (which would have to set route_localnet on the bridge) and the
    # pod starts; the port is published on the node's address.
    manifest = cluster.tmp / "hostport.json"
    manifest.write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [HOSTPORT_NAMESPACE, HOSTPORT_POD]})
    )
    applied = cluster.kctl("apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    page = wait_until(
        lambda: machine.http_get(f"http://{NODE_IP}:{HOST_PORT}/"), 60, 0.5, what="the hostPort"
    )
    assert page.startswith("hostport")
    assert machine.run("cat", "/proc/sys/net/ipv4/conf/all/route_localnet").stdout.strip() == "0"

    assert _restarts(cluster) == dict.fromkeys(_restarts(cluster), 0)  # nothing crash-looped
    assert cluster.log("kube-proxy").count("cannot set net.ipv4.conf.all.route_localnet=1") == 1


@pytest.mark.timeout(300)
@pytest.mark.parametrize("confined", [{"hidden": ("/usr/sbin",)}], indirect=True)
def test_no_iptables(confined: tuple[ConfinedMachine, UpCluster]) -> None:
    machine, cluster = confined
    assert machine.run("sh", "-c", "command -v iptables").returncode != 0  # really not there
    out, err, notes = _up(cluster)
    assert len(notes) == 2, err
    assert notes[0].startswith("iptables cannot be used here")
    assert notes[1].startswith("network policies are not enforced here: kube-netpol needs iptables")
    assert "network policies: not enforced" in out and "kube-netpol" not in out
    assert "for the rest: install iptables" in err
    assert "kube-proxy: userspace mode" in out and "network: cni" in out

    page = _serve_the_example(machine, cluster)
    assert page.startswith("Hello from kubelite! Served by pod web-")
    svc = json.loads(cluster.kctl("get", "svc", "web", "-o", "json").stdout)
    assert machine.http_get(f"http://{svc['spec']['clusterIP']}/").startswith("Hello from kubelite")
    assert _restarts(cluster) == dict.fromkeys(_restarts(cluster), 0)
    assert cluster.log("kubelet").count("iptables is not installed: traffic from pods") == 1
