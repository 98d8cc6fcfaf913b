"""`kctl up` end to end: preflight, up from a clean state, a web page served to the host, each component its own
user though several share a process, a crashed host process restarted with all it hosts, `kctl down` and up again
(objects kept, pods back), `kctl down --purge` leaving nothing behind.

The tests run in order on one cluster (module fixture `up_cluster`); each builds on the previous one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
from typing import Any

import dns.message
import dns.query
import httpx
import pytest
import yaml

from apimachinery.kubeconfig import load
from apimachinery.user import KUBE_CONTROLLER_MANAGER, KUBE_DNS, KUBE_PROXY, KUBE_SCHEDULER, METRICS_SERVER
from kube_proxy.lock import ProxyLock
from kubelet.network.cni import bridge_name
from tests.e2e.up.helpers import UP_MARKS, UpCluster, pid_alive
from tests.harness import REPO
from tests.polling import wait_until

pytestmark = UP_MARKS

WEB = REPO / "examples" / "web.yaml"
NODE_PORT = 30080  # fixed in examples/web.yaml
SERVICE_GUARD_DEVICE = "kubelite-svc"  # kube-proxy's guard device for service addresses
SERVICE_CIDR = "10.96.0.0/12"

# Shared between the ordered tests of this module.
seen: dict[str, Any] = {"pids": set()}
# The first `up` audits every request (the apiserver's audit log in state/logs/audit.log): who made it, as whom.
AUDIT_POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
# The processes of `kctl up` (cli/up_components.py's HOSTS): the apiserver alone, the controllers, the node's agents.
PROCESSES = [
    ["kube-apiserver"],
    ["kube-controller-manager", "kube-scheduler"],
    ["kube-dns", "kube-netpol", "kube-proxy", "kubelet", "metrics-server"],
]


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
    policy = up_cluster.tmp / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    r = up_cluster.kctl(*up_cluster.up_args(), "--audit-policy-file", str(policy))
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\nkubelet log:\n{up_cluster.log('kubelet')}"
    for name in (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
        "kube-dns",
        "kubelet",
        "metrics-server",
    ):
        assert name in r.stdout
    assert "kube-netpol" in r.stdout and "network policies: enforced by kube-netpol" in r.stdout
    assert (
        "processes: kube-apiserver; control-plane (kube-controller-manager, kube-scheduler); node ("
        in r.stdout
    )
    assert f"https://127.0.0.1:{up_cluster.ports['port']}" in r.stdout
    config = yaml.safe_load(up_cluster.kubeconfig.read_text())
    assert config["current-context"] == "kubelite"
    assert {c["name"] for c in config["contexts"]} == {"mine", "kubelite"}
    _remember_pids(up_cluster)

    status = up_cluster.kctl("status", "--state-dir", str(up_cluster.state))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.strip().splitlines()
    rows = [line.split() for line in lines[:-1]]
    assert rows[0] == ["COMPONENT", "PID", "STATE", "RESTARTS", "UP", "HEALTH"]
    assert len(rows) == 9 and all(row[2] == "running" and row[-1] == "ok" for row in rows[1:]), status.stdout
    assert {"kube-dns", "kube-netpol"} <= {row[0] for row in rows}
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
    # Both pods serve, once kube-proxy has the second endpoint too (it may be a sync behind the first).
    served_by: set[str] = set()

    def both_serve() -> bool:
        served_by.add(_get(f"http://127.0.0.1:{NODE_PORT}/").split()[-1])
        return served_by == seen["pod_names"]

    wait_until(both_serve, 20, 0.05, what=f"both web pods serving (so far {served_by})")
    # A cluster IP from the host only once kube-proxy's guard route keeps it on this machine.
    wait_until(_service_guard_routed, 10, 0.2, what="kube-proxy's guard route for service addresses")
    assert wait_until(lambda: "Hello from kubelite" in _get(f"http://{cluster_ip}/"), 30, 0.3)
    # Cluster DNS: the supervised kube-dns answers through its Service (kube-proxy), and the pods use it.
    assert wait_until(lambda: _dns_answer("web.default.svc.cluster.local.") == {cluster_ip}, 30, 0.3)
    cid = sorted(seen["containers"])[0]
    looked_up = subprocess.run(
        ["docker", "exec", cid, "nslookup", "web"], capture_output=True, text=True, timeout=30
    )
    assert cluster_ip in looked_up.stdout, looked_up.stdout + looked_up.stderr


def _dns_answer(name: str) -> set[str]:
    """The A records of `name` from the kube-dns Service address (kubeadm's 10.96.0.10)."""
    reply = dns.query.udp(dns.message.make_query(name, "A"), "10.96.0.10", timeout=2)
    return {str(rd) for rrset in reply.answer for rd in rrset}


def test_up_makes_a_secure_cluster(up_cluster: UpCluster) -> None:
    """HTTPS only, credentials per component in private files, anonymous callers refused."""
    state = up_cluster.state
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    private = [*state.glob("pki/*.key"), *state.glob("kubeconfigs/*.conf"), *state.glob("data/*")]
    assert {p.name for p in state.glob("kubeconfigs/*.conf")} == {
        "admin.conf", "kube-scheduler.conf", "kube-controller-manager.conf", "kubelet.conf", "kube-proxy.conf",
        "kube-dns.conf",
        "kube-netpol.conf", "metrics-server.conf",
    }  # fmt: skip
    assert private and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in private), [
        (p.name, oct(p.stat().st_mode)) for p in private if p.stat().st_mode & 0o077
    ]
    ca = str(state / "pki" / "ca.crt")
    api = f"https://127.0.0.1:{up_cluster.ports['port']}"
    assert httpx.get(f"{api}/api/v1/namespaces/default/secrets", verify=ca, timeout=5).status_code == 401
    assert httpx.get(f"{api}/healthz", verify=ca, timeout=5).text == "ok"
    kubelet = f"https://127.0.0.1:{up_cluster.ports['kubelet-port']}"
    assert httpx.get(f"{kubelet}/pods", verify=ca, timeout=5).status_code == 401
    # Each component is only itself: the scheduler may not read Secrets.
    scheduler = load(state / "kubeconfigs" / "kube-scheduler.conf")
    with httpx.Client(base_url=api, verify=scheduler.ssl_context(), timeout=5) as http:
        denied = http.get("/api/v1/namespaces/default/secrets")
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        'secrets is forbidden: User "system:kube-scheduler" cannot list resource "secrets" in API group "" '
        'in the namespace "default"'
    )
    # Nor the network policy agent (its own identity per node), which may not write the policies it enforces.
    netpol = load(state / "kubeconfigs" / "kube-netpol.conf")
    node = f"system:kube-netpol:{up_cluster.node}"
    with httpx.Client(base_url=api, verify=netpol.ssl_context(), timeout=5) as http:
        secrets = http.get("/api/v1/namespaces/default/secrets")
        policies = http.post("/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
                             json={"metadata": {"name": "x"}, "spec": {"podSelector": {}}})  # fmt: skip
        assert http.get("/apis/networking.k8s.io/v1/networkpolicies").status_code == 200
    assert secrets.status_code == 403, secrets.text
    assert f'User "{node}" cannot list resource "secrets"' in secrets.json()["message"]
    assert policies.status_code == 403, policies.text
    assert f'User "{node}" cannot create resource "networkpolicies"' in policies.json()["message"]


IN_POD = """
from kubernetes import client, config
from kubernetes.client.rest import ApiException
config.load_incluster_config()
v1 = client.CoreV1Api()
print("PODS", sorted(p.metadata.name for p in v1.list_namespaced_pod("{ns}").items))
try:
    v1.list_namespaced_secret("{ns}")
    print("SECRETS allowed")
except ApiException as exc:
    print("SECRETS", exc.status)
"""


def test_kubectl_top_on_the_up_cluster(up_cluster: UpCluster) -> None:
    """metrics-server, started by `kctl up` with its own credential, serves the node's usage through the
    apiserver's aggregation layer (the APIService v1beta1.metrics.k8s.io, Available)."""

    def top() -> str:
        r = up_cluster.kctl("top", "nodes")
        return r.stdout if r.returncode == 0 and up_cluster.node in r.stdout else ""

    shown = wait_until(top, 90, 2, what="kctl top nodes on the up cluster")
    assert shown.splitlines()[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    apiservice = up_cluster.kctl("get", "apiservices", "v1beta1.metrics.k8s.io")
    assert apiservice.stdout.split()[4:7] == ["v1beta1.metrics.k8s.io", "kube-system/metrics-server", "True"]


def test_a_pod_uses_its_service_account_with_the_official_python_client(up_cluster: UpCluster) -> None:
    """config.load_incluster_config() in a pod: the projected token, ca.crt and KUBERNETES_SERVICE_HOST lead to
    the apiserver through the `kubernetes` Service; a Role lets it list pods, nothing lets it read Secrets."""
    image = (
        "kubelite/base:bookworm"  # Debian with python3 (deploy/build-base.sh); the client comes from the venv
    )
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.skip(f"{image} is not built here (deploy/build-base.sh makes it)")
    site = next((REPO / ".venv" / "lib").glob("python3*/site-packages"))
    ns = "incluster"
    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/incluster"
    with up_cluster.api() as api:
        # The pod mounts the venv's site-packages with a hostPath, which Pod Security's baseline level (what
        # `kctl up` enforces on user namespaces) refuses: this namespace says privileged.
        labels = {"pod-security.kubernetes.io/enforce": "privileged"}
        created_ns = api.post("/api/v1/namespaces", json={"metadata": {"name": ns, "labels": labels}})
        assert created_ns.status_code == 201, created_ns.text
        role = {"metadata": {"name": "pod-reader"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}  # fmt: skip
        assert api.post(f"{rbac}/roles", json=role).status_code == 201
        binding = {
            "metadata": {"name": "default-reads-pods"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
        }
        assert api.post(f"{rbac}/rolebindings", json=binding).status_code == 201
        pod = {
            "metadata": {"name": "client"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{
                    "name": "client", "image": image, "imagePullPolicy": "Never",
                    "command": ["python3", "-c", IN_POD.replace("{ns}", ns)],
                    "env": [{"name": "PYTHONPATH", "value": "/opt/site"}],
                    "volumeMounts": [{"name": "site", "mountPath": "/opt/site", "readOnly": True}],
                }],
                "volumes": [{"name": "site", "hostPath": {"path": str(site), "type": "Directory"}}],
            },
        }  # fmt: skip
        created = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod)
        assert created.status_code == 201, created.text
        volumes = created.json()["spec"]["volumes"]
        assert any(v["name"].startswith("kube-api-access-") for v in volumes)

        def finished() -> str | None:
            phase = api.get(f"/api/v1/namespaces/{ns}/pods/client").json()["status"].get("phase")
            return phase if phase in ("Succeeded", "Failed") else None

        phase = wait_until(finished, 90, 0.5, what="the in-cluster client pod to finish")
        log = api.get(f"/api/v1/namespaces/{ns}/pods/client/log").text
        assert phase == "Succeeded", log
        assert "PODS ['client']" in log and "SECRETS 403" in log, log
        api.delete(f"/api/v1/namespaces/{ns}")


def _processes(cluster: UpCluster) -> list[list[str]]:
    """The components by the process they run in (status.json's pids)."""
    by_pid: dict[int, list[str]] = {}
    for name, c in cluster.status().items():
        by_pid.setdefault(c["pid"], []).append(name)
    return sorted(sorted(names) for names in by_pid.values())


def test_each_component_of_a_shared_process_is_its_own_user(up_cluster: UpCluster) -> None:
    """Several components share a process (as k3s), each still itself: the apiserver saw each one's requests
    (by its user agent) as its own user only, and each answers /healthz on its own port."""
    assert _processes(up_cluster) == PROCESSES
    users: dict[str, set[str]] = {}
    for line in (up_cluster.state / "logs" / "audit.log").read_text().splitlines():
        event = json.loads(line)
        agent = str(event.get("userAgent", "")).split("/")[0]
        users.setdefault(agent, set()).add(event["user"]["username"])
    node = up_cluster.node
    assert users["kube-scheduler"] == {KUBE_SCHEDULER}
    assert users["kube-controller-manager"] == {KUBE_CONTROLLER_MANAGER}
    assert users["kubelet"] == {f"system:node:{node}"}
    assert users["kube-proxy"] == {KUBE_PROXY}
    assert users["kube-dns"] == {KUBE_DNS}
    assert users["metrics-server"] == {METRICS_SERVER}
    assert users["kube-netpol"] == {f"system:kube-netpol:{node}"}
    ca = str(up_cluster.state / "pki" / "ca.crt")
    for c in up_cluster.status().values():
        assert httpx.get(c["health"], timeout=2, verify=ca).status_code == 200, c


def test_supervisor_restarts_a_crashed_host_process_with_all_it_hosts(up_cluster: UpCluster) -> None:
    before = up_cluster.status()
    os.kill(before["kube-scheduler"]["pid"], signal.SIGKILL)  # the controllers' process

    def restarted() -> dict[str, Any] | None:
        now = up_cluster.status()
        both = [now["kube-scheduler"], now["kube-controller-manager"]]
        pid = both[0].get("pid")
        ok = pid and pid != before["kube-scheduler"]["pid"] and all(c["pid"] == pid for c in both)
        ok = ok and all(c["restarts"] == 1 and c["state"] == "running" for c in both)
        return now if ok else None

    now = wait_until(restarted, 15, 0.2, what="the controllers' process to be restarted")
    healthz = [
        f"http://127.0.0.1:{up_cluster.ports[p]}/healthz"
        for p in ("scheduler-port", "controller-manager-port")
    ]
    wait_until(
        lambda: all(httpx.get(h, timeout=1).status_code == 200 for h in healthz), 20, 0.2, what="healthz"
    )
    # The other processes ran on untouched.
    for name in ("kube-apiserver", "kubelet", "kube-proxy"):
        assert now[name]["pid"] == before[name]["pid"] and now[name]["restarts"] == 0, now[name]
    _remember_pids(up_cluster)
    status = up_cluster.kctl("status", "--state-dir", str(up_cluster.state)).stdout
    for name in ("kube-scheduler", "kube-controller-manager"):
        row = next(line.split() for line in status.splitlines() if line.startswith(name))
        assert row[1] == str(now[name]["pid"]) and row[3] == "1", status
    # The supervisor's own /healthz and /metrics count the restart, of each component of the process.
    supervisor = json.loads((up_cluster.state / "status.json").read_text())["health"]
    assert httpx.get(supervisor, timeout=2).status_code == 200
    metrics = httpx.get(supervisor.replace("/healthz", "/metrics"), timeout=2).text
    assert 'kubelite_component_restarts_total{component="kube-scheduler"} 1.0' in metrics
    assert 'kubelite_component_restarts_total{component="kube-controller-manager"} 1.0' in metrics


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
    # The supervisor killed -9: its components follow it (PR_SET_PDEATHSIG); `kctl down` still cleans up.
    supervisor = up_cluster.supervisor_pid()
    assert supervisor is not None
    os.kill(supervisor, signal.SIGKILL)
    wait_until(lambda: not pid_alive(supervisor), 10, 0.1, what="the supervisor to die")
    pids = [c["pid"] for c in up_cluster.status().values() if c.get("pid")]
    wait_until(lambda: not [p for p in pids if pid_alive(p)], 5, 0.1, what="no orphaned component")
    r = up_cluster.kctl("down", "--state-dir", str(up_cluster.state), "--purge")
    assert r.returncode == 0, r.stderr
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
