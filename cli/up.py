"""`kctl up`, `kctl down`, `kctl status`: a whole cluster on this machine with one command.

`up` checks the machine (preflight), writes the cluster's component list to the state directory, starts the
supervisor (cli/supervisor.py) detached, waits until the apiserver answers and the node is Ready, writes a kubeconfig
context and makes it current (keeping the other contexts), and prints what runs where. Storage is the embedded SQLite
backend in the state directory unless --etcd-servers is given. `down` stops everything and removes the containers,
bridge, routes and rules the cluster made; the data stays unless --purge.

State directory layout (0700): cluster.json (what `up` started: node, ports, component command lines), status.json
(the supervisor's view: pids, restarts), supervisor.pid, supervisor.log, logs/<component>.log, data/ (SQLite),
kubelet/ (the kubelet's root dir: CNI results and IPAM), cni/ (the node's CNI config), pki/ and kubeconfigs/ (the
cluster's CA and every component's credentials, see cli/credentials.py; keys and kubeconfigs 0600).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import typer

from apimachinery.dnsconfig import CLUSTER_DOMAIN, cluster_dns_ip
from apimachinery.kubeconfig import load as load_kubeconfig
from apimachinery.kubeconfig import write_kubeconfig
from apimachinery.localimages import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_images
from apimachinery.netutil import default_route_source
from apimachinery.pki import private_dir
from cli import machine
from cli.credentials import ClusterCredentials, admin_credentials, make_credentials
from cli.errors import CLIError

app = typer.Typer()

DEFAULT_STATE_DIR = Path(os.environ.get("KUBELITE_HOME", Path.home() / ".kubelite"))
CLUSTER_CIDR = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/12"
LOADBALANCER_CIDR = "10.250.0.0/24"
REPO = Path(__file__).resolve().parent.parent

# The components' usual ports (kube-apiserver's is --port); each can be moved with a flag of `kctl up`.
DEFAULT_PORTS = {
    "kube-apiserver": 6443,
    "kube-controller-manager": 10257,
    "kube-scheduler": 10259,
    "kube-proxy": 10249,
    "kube-dns": 9153,  # its /healthz, /readyz and /metrics; DNS itself is on the pod bridge's address, port 53
    "kubelet": 10250,
    "kube-netpol": 10265,
    "metrics-server": 10271,  # its /healthz, /readyz and /metrics; metrics.k8s.io is HTTPS on METRICS_SERVER_PORT
}
METRICS_SERVER_PORT = 4443


@dataclass
class Preflight:
    proxy_mode: str = "iptables"
    network: str = "cni"
    netpol: bool = True  # the network policy agent can run (iptables rights and ipset)
    notes: list[str] = field(default_factory=list)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def preflight(ports: dict[str, int]) -> Preflight:
    """Check the machine; refuse with a way forward, or choose a fallback and say so (cli/machine.py)."""
    result = Preflight()
    try:
        import docker

        docker_info = docker.from_env(timeout=5).info()
    except Exception:
        raise CLIError(
            "Docker is not running (or this user may not use it): start the engine (`dockerd &` as root, or "
            "`systemctl start docker`) and run `kctl up` again"
        ) from None
    taken = [f"{name} port {port}" for name, port in ports.items() if not _port_free(port)]
    if taken:
        raise CLIError(
            f"port in use: {', '.join(taken)}. Stop what uses it, or run `kctl down` if a cluster is already "
            "up (`kctl up --port N` moves the apiserver; --kubelet-port, --scheduler-port, "
            "--controller-manager-port, --proxy-port, --dns-metrics-port move the others)"
        )
    plan = machine.assess(machine.probe(docker_info))
    result.proxy_mode, result.network = plan.proxy_mode, plan.network
    result.notes = [d.text() for d in plan.degradations]
    return result


# User namespaces get the baseline Pod Security Standard (no privileged, hostPath, host namespaces or host ports);
# kube-system, where node-level add-ons live, is exempt. A namespace can choose otherwise with its labels.
POD_SECURITY = ["--pod-security-default", "baseline", "--pod-security-exempt-namespaces", "kube-system"]


def components(
    state: Path,
    ports: dict[str, int],
    node: str,
    pod_cidr: str,
    pre: Preflight,
    etcd_servers: str | None,
    creds: ClusterCredentials,
    advertise: str | None = None,
) -> list[dict[str, Any]]:
    """The supervisor's component list, in start order. kube-proxy starts before the kubelet so that its guard
    routes for service addresses exist before any pod does; the network policy agent runs where it can. Each
    component runs as its own identity (its kubeconfig in state/kubeconfigs); the apiserver and the kubelet serve
    HTTPS only."""
    py = sys.executable
    api_port = str(ports["kube-apiserver"])
    storage = (
        ["--etcd-servers", etcd_servers]
        if etcd_servers
        else ["--storage-backend", "sqlite", "--data-dir", str(state / "data")]
    )
    pki = creds.pki

    def health(name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{ports[name]}/healthz"

    def kubeconfig(name: str) -> list[str]:
        return ["--kubeconfig", str(creds.kubeconfig(name))]

    metrics_health = ports.get("metrics-server", DEFAULT_PORTS["metrics-server"])
    metrics_https = ports.get("metrics-server-https", METRICS_SERVER_PORT)

    comps: list[dict[str, Any]] = [
        {
            "name": "kube-apiserver",
            "health": f"https://127.0.0.1:{api_port}/readyz",
            "liveness": f"https://127.0.0.1:{api_port}/livez",
            "backoff": {"initial": 0.1, "cap": 2.0},  # everything waits on it: restarted quickly, always
            # Every address: pods reach it through the `kubernetes` Service (10.96.0.1:443 -> node address).
            "argv": [py, "-m", "apiserver", "--bind-address", "0.0.0.0", "--port", api_port,
                     "--service-cluster-ip-range", SERVICE_CIDR, *storage,
                     "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
                     "--client-ca-file", str(creds.ca),
                     "--service-account-signing-key-file", str(creds.sa_key),
                     "--service-account-key-file", str(creds.sa_key),
                     "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
                     "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"),
                     "--kubelet-certificate-authority", str(creds.ca),
                     "--cluster-cidr", CLUSTER_CIDR, *POD_SECURITY, "--default-local-path-storage-class",
                     "--proxy-client-cert-file", str(pki / "front-proxy-client.crt"),
                     "--proxy-client-key-file", str(pki / "front-proxy-client.key"),
                     "--register-metrics-apiservice", str(creds.ca),
                     *(["--advertise-address", advertise] if advertise else [])],
        },
        {
            "name": "kube-controller-manager",
            "health": health("kube-controller-manager"),
            "argv": [py, "-m", "controller_manager", *kubeconfig("kube-controller-manager"),
                     "--cluster-cidr", CLUSTER_CIDR, "--root-ca-file", str(creds.ca),
                     "--cluster-signing-cert-file", str(creds.ca), "--cluster-signing-key-file", str(pki / "ca.key"),
                     "--port", str(ports["kube-controller-manager"])],
        },
        {
            "name": "kube-scheduler",
            "health": health("kube-scheduler"),
            "argv": [py, "-m", "scheduler", *kubeconfig("kube-scheduler"), "--port", str(ports["kube-scheduler"])],
        },
        {
            "name": "kube-proxy",
            "health": health("kube-proxy"),
            "argv": [py, "-m", "kube_proxy", *kubeconfig("kube-proxy"), "--node-name", node, "--proxy-mode",
                     pre.proxy_mode, "--cluster-cidr", CLUSTER_CIDR, "--service-cluster-ip-range",
                     SERVICE_CIDR, "--port", str(ports["kube-proxy"])],
        },
        {
            "name": "kube-dns",
            "health": f"http://127.0.0.1:{ports['kube-dns']}/readyz",
            "argv": [py, "-m", "kube_dns", *kubeconfig("kube-dns"), "--bind-address", dns_address(pod_cidr),
                     "--metrics-port", str(ports["kube-dns"]), "--service-cluster-ip-range", SERVICE_CIDR,
                     "--cluster-cidr", CLUSTER_CIDR],
        },
        {
            "name": "kubelet",
            "health": health("kubelet", "https"),
            "argv": [py, "-m", "kubelet", *kubeconfig("kubelet"), "--node-name", node, "--port",
                     str(ports["kubelet"]), "--pod-cidr", pod_cidr, "--cluster-cidr", CLUSTER_CIDR,
                     "--root-dir", str(state / "kubelet"), "--cni-conf-dir", str(state / "cni"),
                     "--network", pre.network, "--cluster-dns", pod_nameserver(pod_cidr, pre),
                     "--cluster-domain", CLUSTER_DOMAIN,
                     "--tls-cert-file", str(pki / "kubelet.crt"), "--tls-private-key-file", str(pki / "kubelet.key"),
                     "--client-ca-file", str(creds.ca), *(["--node-ip", advertise] if advertise else [])],
        },
        {
            "name": "metrics-server",
            "health": f"http://127.0.0.1:{metrics_health}/readyz",
            "argv": [py, "-m", "metrics_server", *kubeconfig("metrics-server"),
                     "--tls-cert-file", str(pki / "metrics-server.crt"),
                     "--tls-private-key-file", str(pki / "metrics-server.key"),
                     "--requestheader-client-ca-file", str(creds.front_proxy_ca),
                     "--secure-port", str(metrics_https), "--health-port", str(metrics_health),
                     "--advertise-address", default_route_source() or dns_address(pod_cidr)],
        },
        # After the kubelet, whose KUBELITE-FORWARD accept would otherwise land above the agent's jump (the agent
        # puts its jump back on top at every sync anyway).
        *([{
            "name": "kube-netpol",
            "health": health("kube-netpol"),
            "argv": [py, "-m", "netpol", *kubeconfig("kube-netpol"), "--node-name", node, "--port",
                     str(ports["kube-netpol"])],
        }] if pre.netpol else []),
    ]  # fmt: skip
    for c in comps:  # the supervisor restarts a component whose liveness URL fails (cli/supervisor.py)
        c.setdefault("liveness", c["health"].replace("/readyz", "/healthz"))
    return comps


def audit_args(state: Path, policy: Path) -> list[str]:
    """The apiserver's audit flags: the policy as given (the apiserver refuses a bad one at start, and `kctl up`
    shows why), the log in the state directory's logs/ (0600)."""
    policy = policy.expanduser().resolve()
    if not policy.is_file():
        raise CLIError(f"--audit-policy-file {policy}: no such file")
    return ["--audit-policy-file", str(policy), "--audit-log-path", str(state / "logs" / "audit.log")]


def check_advertise_address(text: str) -> str:
    """--advertise-address: an IPv4 address of this machine (not loopback, not unspecified)."""
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise CLIError(f"--advertise-address {text!r} is not an IPv4 address") from None
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        raise CLIError(f"--advertise-address {text} is not an address other machines can reach")
    with socket.socket() as s:
        try:
            s.bind((str(address), 0))
        except OSError:
            raise CLIError(f"--advertise-address {text} is not an address of this machine") from None
    return str(address)


def dns_address(pod_cidr: str) -> str:
    """Where kube-dns listens: the node's own address on the pod bridge (the podCIDR's first host, the gateway
    of every pod, which the CNI bridge plugin or Docker's bridge network gives the host). Pods reach it directly,
    kube-proxy sends the kube-dns Service there, and nothing outside the machine can (it is not on any outside
    interface). It appears with the first pod; kube-dns binds before that (IP_FREEBIND)."""
    return str(ipaddress.IPv4Network(pod_cidr)[1])


def pod_nameserver(pod_cidr: str, pre: Preflight) -> str:
    """What ClusterFirst pods are told to ask: the kube-dns Service (10.96.0.10), as in Kubernetes; in userspace
    proxy mode, which proxies TCP only, the DNS server's own address (a resolver asks over UDP first)."""
    if pre.proxy_mode == "userspace":
        return dns_address(pod_cidr)
    return cluster_dns_ip(SERVICE_CIDR)


def netpol_preflight(pre: Preflight) -> None:
    """kube-netpol runs where iptables may be changed (kube-proxy's iptables mode says so) and ipset is installed;
    elsewhere `kctl up` says that network policies are not enforced."""
    if pre.proxy_mode != "iptables" or shutil.which("ipset") is None:
        pre.netpol = False
        pre.notes.append(
            "network policies are not enforced here: kube-netpol needs iptables rights and ipset "
            "(Debian: apt-get install ipset)"
        )


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed supervisor may wait a while to be reaped by init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[-1][:1] not in ("Z", "X")


def _supervisor_pid(state: Path) -> int | None:
    """The pid of the supervisor running from `state`, if it runs (checked by its command line: pids get reused)."""
    try:
        pid = int((state / "supervisor.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if b"cli.supervisor" not in cmdline or str(state).encode() not in cmdline or not _alive(pid):
        return None
    return pid


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line[:300] for line in text[-lines:])


def _wait(what: str, check: Callable[[], bool], timeout: float, state: Path, component: str) -> None:
    """Poll `check` until it holds; on timeout, or when the supervisor has died, fail showing the end of the
    component's log (or the supervisor's)."""
    start = time.monotonic()
    _err(f"waiting for {what}...")
    while time.monotonic() < start + timeout:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass  # not up yet
        if time.monotonic() > start + 2 and not _supervisor_pid(state):
            log = state / "supervisor.log"
            raise CLIError(f"the supervisor exited; the end of {log}:\n{_log_tail(log)}")
        time.sleep(0.3)
    log = state / "logs" / f"{component}.log"
    raise CLIError(
        f"timed out waiting for {what}; the end of {log}:\n{_log_tail(log)}\n"
        "(`kctl status` shows the components, `kctl down` stops them)"
    )


def _node_ready(master: str, node: str, admin: httpx.Client) -> bool:
    r = admin.get(f"{master}/api/v1/nodes/{node}", timeout=2)
    if r.status_code != 200:
        return False
    conditions = (r.json().get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _healthy(url: str, ca: Path | None = None) -> bool:
    """GET url answers 200; https URLs are checked against the cluster's CA (their /healthz and /readyz answer
    without credentials)."""
    verify: str | bool = str(ca) if ca is not None and ca.exists() else True
    return httpx.get(url, timeout=2, verify=verify).status_code == 200


def _admin_client(creds: ClusterCredentials) -> httpx.Client:
    return httpx.Client(verify=load_kubeconfig(creds.kubeconfig("admin")).ssl_context(), timeout=5)


def _kubeconfig_path() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first or "~/.kube/config").expanduser()


@app.command("up")
def up(
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir", help="where data, logs and pids live"),
    port: int = typer.Option(6443, "--port", help="the apiserver's port on 127.0.0.1"),
    etcd_servers: str = typer.Option(None, "--etcd-servers", help="use etcd at these URLs instead of SQLite"),
    node_name: str = typer.Option(
        socket.gethostname(), "--node-name", help="the name of this machine's node"
    ),
    timeout: float = typer.Option(90, "--timeout", help="seconds to wait for the node to be Ready"),
    kubelet_port: int = typer.Option(DEFAULT_PORTS["kubelet"], "--kubelet-port"),
    scheduler_port: int = typer.Option(DEFAULT_PORTS["kube-scheduler"], "--scheduler-port"),
    controller_manager_port: int = typer.Option(
        DEFAULT_PORTS["kube-controller-manager"], "--controller-manager-port"
    ),
    proxy_port: int = typer.Option(DEFAULT_PORTS["kube-proxy"], "--proxy-port", help="kube-proxy's /healthz"),
    dns_metrics_port: int = typer.Option(
        DEFAULT_PORTS["kube-dns"], "--dns-metrics-port", help="kube-dns's /healthz and /metrics"
    ),
    netpol_port: int = typer.Option(
        DEFAULT_PORTS["kube-netpol"], "--netpol-port", help="the network policy agent's /healthz"
    ),
    metrics_server_port: int = typer.Option(
        METRICS_SERVER_PORT, "--metrics-server-port", help="metrics-server's HTTPS port (metrics.k8s.io)"
    ),
    metrics_server_health_port: int = typer.Option(
        DEFAULT_PORTS["metrics-server"],
        "--metrics-server-health-port",
        help="metrics-server's /healthz and /metrics",
    ),
    pod_cidr: str = typer.Option(
        NODE_POD_CIDR, "--pod-cidr", help=f"the node's pod addresses (in {CLUSTER_CIDR})"
    ),
    audit_policy_file: Path = typer.Option(
        None, "--audit-policy-file", help="an audit.k8s.io/v1 Policy: the apiserver audits to logs/audit.log"
    ),
    advertise_address: str = typer.Option(
        None, "--advertise-address", help="an address of this machine other machines join at (`kctl join`)"
    ),
) -> None:
    """Start a cluster on this machine: apiserver, scheduler, controller-manager, kubelet, kube-proxy, kube-dns."""
    state = state_dir.expanduser().resolve()
    if _supervisor_pid(state):
        raise CLIError(
            f"a cluster is already running from {state}; `kctl status` shows it, `kctl down` stops it"
        )
    ports = {
        "kube-apiserver": port,
        "kube-controller-manager": controller_manager_port,
        "kube-scheduler": scheduler_port,
        "kube-proxy": proxy_port,
        "kube-dns": dns_metrics_port,
        "kubelet": kubelet_port,
        "kube-netpol": netpol_port,
        "metrics-server": metrics_server_health_port,
        "metrics-server-https": metrics_server_port,
    }
    try:
        inside = ipaddress.IPv4Network(pod_cidr).subnet_of(ipaddress.IPv4Network(CLUSTER_CIDR))
    except (ValueError, TypeError):
        inside = False
    if not inside:
        raise CLIError(f"--pod-cidr {pod_cidr} is not a network inside the cluster's {CLUSTER_CIDR}")
    if _kill_orphans(state):  # a supervisor killed before its components could follow it (cli/supervisor.py)
        _err("note: stopped the components left by a supervisor that had died")
    if advertise_address:
        advertise_address = check_advertise_address(advertise_address)
    pre = preflight(ports)
    netpol_preflight(pre)
    for note in pre.notes:
        _err(f"note: {note}")
    private_dir(state)
    ensure_images()
    master = f"https://127.0.0.1:{port}"
    creds = make_credentials(state, node_name, advertise_address or default_route_source(), master)
    comps = components(state, ports, node_name, pod_cidr, pre, etcd_servers, creds, advertise_address)
    if audit_policy_file is not None:
        comps[0]["argv"] += audit_args(state, audit_policy_file)
    spec = {
        "node": node_name,
        "pod_cidr": pod_cidr,
        "port": port,
        "ports": ports,
        "network": pre.network,
        "ca": str(creds.ca),
        "components": comps,
    }
    (state / "cluster.json").write_text(json.dumps(spec, indent=2))
    with open(state / "supervisor.log", "ab") as log:  # the child keeps its own copy of the descriptor
        subprocess.Popen(
            [sys.executable, "-m", "cli.supervisor", str(state)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(REPO),
        )
    _wait("the apiserver", lambda: _healthy(f"{master}/readyz", creds.ca), 60, state, "kube-apiserver")
    kubeconfig = _kubeconfig_path()
    ca, cert, key = admin_credentials(creds)
    write_kubeconfig(
        kubeconfig, "kubelite", master, ca_data=ca, context="kubelite", make_current=True,
        user="kubelite-admin", client_cert_data=cert, client_key_data=key,
    )  # fmt: skip
    for c in comps[1:]:
        _wait(c["name"], functools.partial(_healthy, c["health"], creds.ca), 60, state, c["name"])
    # After the kubelet answers: a Node kept from an earlier run may still say Ready from back then.
    with _admin_client(creds) as admin:
        _wait(f"node {node_name} to be Ready", lambda: _node_ready(master, node_name, admin), timeout, state,
              "kubelet")  # fmt: skip
    status = _read_status(state)
    rows = [["COMPONENT", "PID", "LISTENS ON", "LOG"]]
    for c in comps:
        pid = next((s.get("pid") for s in status if s["name"] == c["name"]), None)
        url = str(c.get("health") or "")
        listen = url.split("://", 1)[-1].split("/", 1)[0]
        if c["name"] in ("kubelet", "kube-apiserver"):
            listen = "https://" + listen.replace("127.0.0.1", "0.0.0.0")  # they serve every address
        if c["name"] == "metrics-server":
            listen = f"https://0.0.0.0:{ports['metrics-server-https']}"  # metrics.k8s.io (/metrics is on 127.0.0.1)
        if c["name"] == "kube-dns":
            listen = f"{dns_address(pod_cidr)}:53"  # the DNS listeners (/metrics is on 127.0.0.1)
        rows.append([c["name"], str(pid or "-"), listen, str(state / "logs" / f"{c['name']}.log")])
    print("kubelite is up:")
    print(_columns(rows), flush=True)
    print(f"storage: {'etcd at ' + etcd_servers if etcd_servers else 'SQLite in ' + str(state / 'data')}")
    policies = "enforced by kube-netpol" if pre.netpol else "not enforced"
    print(f"network: {pre.network} (pods {pod_cidr}), kube-proxy: {pre.proxy_mode} mode")
    print(f"network policies: {policies}")
    print(f"apiserver: {master} (HTTPS; clients authenticate with certificates or tokens, RBAC authorizes)")
    print(f"dns: {CLUSTER_DOMAIN} at {pod_nameserver(pod_cidr, pre)} (kube-system/kube-dns)")
    print(f"kubeconfig: context kubelite in {kubeconfig} (now current; the admin, in system:masters)")
    print(f"credentials: {creds.pki} (CA, certificates), {state / 'kubeconfigs'} (one per component)")
    print(f"images: {PAUSE_IMAGE} (pod sandbox), {BUSYBOX_IMAGE} (for examples)")
    print("try: kctl get nodes; stop with: kctl down")
    if advertise_address:
        from cli.token import first_join_command

        print(f"add a machine: {first_join_command(creds, f'https://{advertise_address}:{port}')}")


def _columns(rows: list[list[str]]) -> str:
    """Left-aligned columns, three spaces apart (like `kctl get`), never cut to the terminal's width."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _read_status(state: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads((state / "status.json").read_text())["components"])
    except (OSError, ValueError, KeyError):
        return []


def _stop_supervisor(state: Path, pid: int) -> None:
    """SIGTERM: the supervisor stops the components in reverse order. If it does not finish in time, its whole
    process group (the components are in it) is killed."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _supervisor_pid(state):
        time.sleep(0.2)
    if _supervisor_pid(state):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass  # gone meanwhile


def _kill_orphans(state: Path) -> int:
    """Components left running by a supervisor that was itself killed (kill -9, OOM): found through status.json,
    and killed only if the pid still runs one of our command lines (pids get reused)."""
    killed = 0
    for c in _read_status(state):
        pid = c.get("pid")
        if pid and _alive(int(pid)) and _is_ours(int(pid), state):
            try:
                os.kill(int(pid), signal.SIGKILL)
                killed += 1
            except OSError:
                pass  # gone meanwhile
    return killed


def _is_ours(pid: int, state: Path) -> bool:
    """The process runs one of our component command lines (a pid may have been reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    spec = _read_spec(state)
    return any(
        [a.encode() for a in c["argv"]] == cmdline[: len(c["argv"])] for c in spec.get("components", [])
    )


def _read_spec(state: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state / "cluster.json").read_text()))
    except (OSError, ValueError):
        return {}


@app.command("down")
def down(
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir"),
    purge: bool = typer.Option(False, "--purge", help="also delete the state directory (data, logs)"),
) -> None:
    """Stop the cluster started by `kctl up` and remove its containers and rules (data stays unless --purge)."""
    state = state_dir.expanduser().resolve()
    pid = _supervisor_pid(state)
    if pid:
        _stop_supervisor(state, pid)
        _kill_orphans(state)  # should the supervisor have died on the way
        print("stopped the components")
    elif _kill_orphans(state):
        print("stopped the components left by a supervisor that had died")
    else:
        print(f"no cluster is running from {state}")
    spec = _read_spec(state)
    node = spec.get("node")
    if node:
        # The kubelet knows what it made on this machine; it removes it in its --cleanup mode.
        cleanup = subprocess.run(
            [
                sys.executable,
                "-m",
                "kubelet",
                "--cleanup",
                "--node-name",
                node,
                "--root-dir",
                str(state / "kubelet"),
                "--cni-conf-dir",
                str(state / "cni"),
                "--pod-cidr",
                spec.get("pod_cidr", NODE_POD_CIDR),
                "--cluster-cidr",
                CLUSTER_CIDR,
                "--network",
                spec.get("network", "cni"),
            ],
            capture_output=True,
            text=True,
            cwd=str(REPO),
        )
        if cleanup.returncode == 0:
            print(cleanup.stdout.strip())
        else:
            _err(f"warning: kubelet --cleanup failed: {cleanup.stderr.strip()[-300:]}")
        # The kubelet's host-gw routes to other nodes' pods (proto 177, kubelet/network/host.py) are the machine's.
        subprocess.run(["ip", "route", "flush", "proto", "177"], capture_output=True, check=False)
        proxy = subprocess.run(
            [sys.executable, "-m", "kube_proxy", "--cleanup", "--service-cluster-ip-range", SERVICE_CIDR],
            capture_output=True,
            text=True,
            cwd=str(REPO),
        )
        if proxy.returncode == 0:
            print("removed kube-proxy's rules and routes")
        else:
            _err(f"warning: kube-proxy --cleanup failed: {proxy.stderr.strip()[-300:]}")
        if any(c.get("name") == "kube-netpol" for c in spec.get("components", [])):
            netpol = subprocess.run(
                [sys.executable, "-m", "netpol", "--cleanup"], capture_output=True, text=True, cwd=str(REPO)
            )
            if netpol.returncode == 0:
                print("removed kube-netpol's rules and sets")
            else:
                _err(f"warning: kube-netpol --cleanup failed: {netpol.stderr.strip()[-300:]}")
    if purge:
        shutil.rmtree(state, ignore_errors=True)
        print(f"deleted {state}")


@app.command("status")
def status(state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir")) -> None:
    """Show the components that `kctl up` runs and whether they are healthy: from their pids and health endpoints,
    so it is right even when the supervisor is gone."""
    state = state_dir.expanduser().resolve()
    supervisor = _supervisor_pid(state)
    recorded = _read_status(state)
    running = {
        c["name"]: int(c["pid"])
        for c in recorded
        if c.get("pid") and _alive(int(c["pid"])) and _is_ours(int(c["pid"]), state)
    }
    if not supervisor and not running:
        raise CLIError(f"no cluster is running from {state} (start one with `kctl up`)")
    rows = [["COMPONENT", "PID", "STATE", "RESTARTS", "UP", "HEALTH"]]
    for c in recorded:
        pid = running.get(c["name"])
        if pid is None:
            phase = c["state"] if supervisor and c["state"].startswith("restarting") else "not running"
        else:
            phase = c["state"] if supervisor else "running (unsupervised)"
        healthy = "-"
        if c.get("health") and pid:
            try:
                healthy = "ok" if _healthy(c["health"], ClusterCredentials(state).ca) else "failing"
            except httpx.HTTPError:
                healthy = "unreachable"
        up_for = f"{int(time.time() - c['started'])}s" if c.get("started") and pid else "-"
        rows.append([c["name"], str(pid or "-"), phase, str(c["restarts"]), up_for, healthy])
    print(_columns(rows))
    if not supervisor:
        print("supervisor: not running: nothing restarts these components; `kctl down` stops them")
        return
    try:
        supervisor_health = json.loads((state / "status.json").read_text()).get("health")
    except (OSError, ValueError):
        supervisor_health = None
    if supervisor_health:
        print(f"supervisor: pid {supervisor}, {supervisor_health} and /metrics")
