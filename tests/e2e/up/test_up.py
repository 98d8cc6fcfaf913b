"""`kctl up` end to end: preflight, up from a clean state, a web page served to the host, a crashed component
restarted, `kctl down` and up again (objects kept, pods back), `kctl down --purge` leaving nothing behind.

The tests run in order on one cluster (module fixture `up_cluster`); each builds on the previous one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from typing import Any

import httpx
import pytest
import yaml

from kube_proxy.lock import ProxyLock
from kubelet.network.cni import bridge_name
from tests.e2e.up.conftest import UpCluster, pid_alive
from tests.harness import REPO, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow]

WEB = REPO / "examples" / "web.yaml"
NODE_PORT = 30080  # fixed in examples/web.yaml
SERVICE_GUARD_DEVICE = "kubelite-svc"  # kube-proxy's guard device for service addresses
SERVICE_CIDR = "10.96.0.0/12"

# Shared between the ordered tests of this module.
seen: dict[str, Any] = {"pids": set()}


def _remember_pids(cluster: UpCluster) -> None:
    seen["pids"] |= {c["pid"] for c in cluster.status().values() if c.get("pid")}
    if cluster.supervisor_pid():
        seen["pids"].add(cluster.supervisor_pid())


def _ready_web_pods(api: httpx.Client) -> list[dict[str, Any]]:
    pods = api.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=web"}).json()["items"]
    return [
        p
        for p in pods
        if p["status"].get("phase") == "Running"
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
    ]


def _running_container_ids() -> set[str]:
    out = subprocess.run(["docker", "ps", "-q", "--no-trunc"], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def _container_ids(pods: list[dict[str, Any]]) -> set[str]:
    return {
        str(s["containerID"]).removeprefix("docker://")
        for p in pods
        for s in p["status"].get("containerStatuses") or []
        if s.get("containerID")
    }


def _get(url: str) -> str:
    return httpx.get(url, timeout=3).text


def _service_guard_routed() -> bool:
    out = subprocess.run(
        ["ip", "-j", "route", "show", "exact", SERVICE_CIDR], capture_output=True, text=True
    ).stdout
    routes = json.loads(out or "[]")
    return any(r.get("dev") == SERVICE_GUARD_DEVICE or r.get("type") == "blackhole" for r in routes)


def _node_containers(node: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.kubelite.node={node}"], capture_output=True, text=True
    )
    return out.stdout.split()


def _no_other_kube_proxy() -> bool:
    lock = ProxyLock()
    if not lock.acquire():
        return False
    lock.release()
    return True


def test_preflight_refuses_a_taken_port_in_one_line(up_cluster: UpCluster) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", up_cluster.ports["port"]))
        s.listen()
        r = up_cluster.kctl(*up_cluster.up_args(), timeout=60)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: port in use: kube-apiserver port ")
    assert "--port" in lines[0]
    assert up_cluster.supervisor_pid() is None  # nothing was started


def test_preflight_says_when_docker_is_not_running(up_cluster: UpCluster) -> None:
    r = up_cluster.kctl(*up_cluster.up_args(), env={"DOCKER_HOST": f"unix://{up_cluster.tmp}/no-docker.sock"})
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Docker is not running"), r.stderr
    assert "kctl up" in lines[0]  # the way forward
    assert up_cluster.supervisor_pid() is None


def test_up_from_a_clean_state_serves_a_web_page(up_cluster: UpCluster) -> None:
    # A kubeconfig with a context of the user's own: `up` adds its context next to it.
    up_cluster.kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "mine", "cluster": {"server": "http://127.0.0.1:1"}}],
                "users": [{"name": "mine", "user": {}}],
                "contexts": [{"name": "mine", "context": {"cluster": "mine", "user": "mine"}}],
                "current-context": "mine",
            }
        )
    )
    r = up_cluster.kctl(*up_cluster.up_args())
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\nkubelet log:\n{up_cluster.log('kubelet')}"
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet"):
        assert name in r.stdout
    assert "kube-netpol" in r.stdout and "network policies: enforced by kube-netpol" in r.stdout
    assert f"127.0.0.1:{up_cluster.ports['port']}" in r.stdout
    config = yaml.safe_load(up_cluster.kubeconfig.read_text())
    assert config["current-context"] == "kubelite"
    assert {c["name"] for c in config["contexts"]} == {"mine", "kubelite"}
    _remember_pids(up_cluster)

    status = up_cluster.kctl("status", "--state-dir", str(up_cluster.state))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.strip().splitlines()
    rows = [line.split() for line in lines[:-1]]
    assert rows[0] == ["COMPONENT", "PID", "STATE", "RESTARTS", "UP", "HEALTH"]
    assert len(rows) == 7 and all(row[2] == "running" and row[-1] == "ok" for row in rows[1:]), status.stdout
    assert lines[-1].startswith("supervisor: pid ") and lines[-1].endswith("/healthz and /metrics")

    nodes = up_cluster.kctl("get", "nodes")
    assert nodes.returncode == 0 and up_cluster.node in nodes.stdout and " Ready " in nodes.stdout

    applied = up_cluster.kctl("apply", "-f", str(WEB))
    assert applied.returncode == 0, applied.stderr
    assert "deployment.apps/web created" in applied.stdout and "service/web created" in applied.stdout
    with up_cluster.api() as api:
        pods = wait_until(
            lambda: len(_ready_web_pods(api)) == 2 and _ready_web_pods(api), 60, 0.3, what="web"
        )
        seen["containers"] = _container_ids(pods)
        seen["pod_names"] = {p["metadata"]["name"] for p in pods}
        cluster_ip = api.get("/api/v1/namespaces/default/services/web").json()["spec"]["clusterIP"]
    page = wait_until(lambda: "Hello from kubelite" in _get(f"http://127.0.0.1:{NODE_PORT}/") and 1, 30, 0.3)
    assert page
    served_by = {_get(f"http://127.0.0.1:{NODE_PORT}/").split()[-1] for _ in range(20)}
    assert served_by == seen["pod_names"]  # both pods serve
    # A cluster IP from the host only once kube-proxy's guard route keeps it on this machine.
    wait_until(_service_guard_routed, 10, 0.2, what="kube-proxy's guard route for service addresses")
    assert wait_until(lambda: "Hello from kubelite" in _get(f"http://{cluster_ip}/"), 30, 0.3)


def test_supervisor_restarts_a_crashed_component(up_cluster: UpCluster) -> None:
    before = up_cluster.status()["kube-scheduler"]
    os.kill(before["pid"], signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        now = up_cluster.status()["kube-scheduler"]
        ok = now.get("pid") and now["pid"] != before["pid"] and now["restarts"] == before["restarts"] + 1
        return now if ok and now["state"] == "running" else None

    now = wait_until(restarted, 15, 0.2, what="the scheduler to be restarted")
    health = f"http://127.0.0.1:{up_cluster.ports['scheduler-port']}/healthz"
    wait_until(lambda: httpx.get(health, timeout=1).status_code == 200, 20, 0.2, what="scheduler healthz")
    _remember_pids(up_cluster)
    status = up_cluster.kctl("status", "--state-dir", str(up_cluster.state)).stdout
    row = next(line.split() for line in status.splitlines() if line.startswith("kube-scheduler"))
    assert row[1] == str(now["pid"]) and row[3] == "1", status
    # The supervisor's own /healthz and /metrics count the restart.
    supervisor = json.loads((up_cluster.state / "status.json").read_text())["health"]
    assert httpx.get(supervisor, timeout=2).status_code == 200
    metrics = httpx.get(supervisor.replace("/healthz", "/metrics"), timeout=2).text
    assert 'kubelite_component_restarts_total{component="kube-scheduler"} 1.0' in metrics


def test_down_then_up_again_keeps_the_objects_and_the_pods_come_back(up_cluster: UpCluster) -> None:
    down = up_cluster.kctl("down", "--state-dir", str(up_cluster.state))
    assert down.returncode == 0, down.stderr
    assert up_cluster.supervisor_pid() is None
    assert not [pid for pid in seen["pids"] if pid_alive(pid)]
    assert _node_containers(up_cluster.node) == []
    assert (up_cluster.state / "data").is_dir()  # the data stays

    r = up_cluster.kctl(*up_cluster.up_args())
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    _remember_pids(up_cluster)
    with up_cluster.api() as api:
        assert api.get("/apis/apps/v1/namespaces/default/deployments/web").status_code == 200
        assert api.get("/api/v1/namespaces/default/services/web").status_code == 200

        def back() -> list[dict[str, Any]] | None:
            pods = _ready_web_pods(api)
            ids = _container_ids(pods)
            # The same pods, now in new containers that really run (down removed the old ones).
            fresh = ids and not ids & seen["containers"] and ids <= _running_container_ids()
            return pods if len(pods) == 2 and fresh else None

        pods = wait_until(back, 60, 0.5, what="the web pods to come back")
    assert {p["metadata"]["name"] for p in pods} == seen["pod_names"]
    assert wait_until(lambda: "Hello from kubelite" in _get(f"http://127.0.0.1:{NODE_PORT}/"), 30, 0.3)


def test_down_purge_leaves_nothing_behind_even_after_the_supervisor_died(up_cluster: UpCluster) -> None:
    # The supervisor killed -9: its components run on, orphaned; `kctl down` must still find and stop them.
    supervisor = up_cluster.supervisor_pid()
    assert supervisor is not None
    os.kill(supervisor, signal.SIGKILL)
    wait_until(lambda: not pid_alive(supervisor), 10, 0.1, what="the supervisor to die")
    assert all(pid_alive(c["pid"]) for c in up_cluster.status().values())
    r = up_cluster.kctl("down", "--state-dir", str(up_cluster.state), "--purge")
    assert r.returncode == 0, r.stderr
    assert "stopped the components left by a supervisor that had died" in r.stdout
    assert not up_cluster.state.exists()
    assert not [pid for pid in seen["pids"] if pid_alive(pid)]
    assert _node_containers(up_cluster.node) == []
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert f"kubelite masquerade {up_cluster.node}" not in rules
    links = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    names = {link["ifname"] for link in json.loads(links)}
    assert bridge_name(up_cluster.node) not in names
    # kube-proxy's rules and guard device are the machine's, not the node's: `kctl down` removes them unless
    # another kube-proxy (another cluster's, on this machine) holds the lock and still needs them.
    if _no_other_kube_proxy():
        assert "default/web" not in rules and f"--dport {NODE_PORT}" not in rules
        assert SERVICE_GUARD_DEVICE not in names
        assert not _service_guard_routed()
    # The user's other contexts are still there.
    config = yaml.safe_load(up_cluster.kubeconfig.read_text())
    assert "mine" in {c["name"] for c in config["contexts"]}
