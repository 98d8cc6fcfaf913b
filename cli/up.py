"""`kctl up`, `kctl down`, `kctl status`: a whole cluster on this machine with one command.

`up` checks the machine (preflight), writes the cluster's component list to the state directory, starts the
supervisor (cli/supervisor.py) detached (it runs the apiserver alone and the other components in two host
processes, componenthost/), waits until the apiserver answers and the node is Ready, writes a kubeconfig
context and makes it current (keeping the other contexts), and prints what runs where. Storage is the embedded SQLite
backend in the state directory unless --etcd-servers is given. `down` stops everything and removes the containers,
bridge, routes and rules the cluster made; the data stays unless --purge.

The component list is cli/up_components.py, the machine checks cli/up_preflight.py, the state directory and
`down`/`status` cli/up_state.py.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import typer

from apimachinery.dnsconfig import CLUSTER_DOMAIN
from apimachinery.kubeconfig import load as load_kubeconfig
from apimachinery.kubeconfig import write_kubeconfig
from apimachinery.localimages import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_images
from apimachinery.netutil import default_route_source
from apimachinery.pki import private_dir
from cli.credentials import ClusterCredentials, admin_credentials, make_credentials
from cli.errors import CLIError
from cli.up_components import (
    CLUSTER_CIDR,
    DEFAULT_PORTS,
    METRICS_SERVER_PORT,
    NODE_POD_CIDR,
    REPO,
    audit_args,
    components,
    dns_address,
    pod_nameserver,
)
from cli.up_preflight import Preflight, check_advertise_address, netpol_preflight, preflight
from cli.up_state import (
    DEFAULT_STATE_DIR,
    columns,
    down,
    is_healthy,
    kill_orphans,
    log_tail,
    read_status,
    status,
    supervisor_pid,
    tell,
)

app = typer.Typer()


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, state: Path, component: str, say: bool = True
) -> None:
    """Poll `check` until it holds; on timeout, or when the supervisor has died, fail showing the end of the
    component's log (or the supervisor's)."""
    start = time.monotonic()
    if say:
        tell(f"waiting for {what}...")
    while time.monotonic() < start + timeout:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass  # not up yet
        if time.monotonic() > start + 2 and not supervisor_pid(state):
            log = state / "supervisor.log"
            raise CLIError(f"the supervisor exited; the end of {log}:\n{log_tail(log)}")
        time.sleep(0.3)
    log = state / "logs" / f"{component}.log"
    raise CLIError(
        f"timed out waiting for {what}; the end of {log}:\n{log_tail(log)}\n"
        "(`kctl status` shows the components, `kctl down` stops them)"
    )


def _node_ready(master: str, node: str, admin: httpx.Client) -> bool:
    r = admin.get(f"{master}/api/v1/nodes/{node}", timeout=2)
    if r.status_code != 200:
        return False
    conditions = (r.json().get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _admin_client(creds: ClusterCredentials) -> httpx.Client:
    return httpx.Client(verify=load_kubeconfig(creds.kubeconfig("admin")).ssl_context(), timeout=5)


def _kubeconfig_path() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first or "~/.kube/config").expanduser()


def _check_start(state: Path, pod_cidr: str, advertise_address: str | None) -> str | None:
    """Refuse a second cluster from the same state directory and a --pod-cidr outside the cluster's network; stop
    what a dead supervisor left running; return the checked --advertise-address."""
    if supervisor_pid(state):
        raise CLIError(
            f"a cluster is already running from {state}; `kctl status` shows it, `kctl down` stops it"
        )
    try:
        inside = ipaddress.IPv4Network(pod_cidr).subnet_of(ipaddress.IPv4Network(CLUSTER_CIDR))
    except (ValueError, TypeError):
        inside = False
    if not inside:
        raise CLIError(f"--pod-cidr {pod_cidr} is not a network inside the cluster's {CLUSTER_CIDR}")
    if kill_orphans(state):  # a supervisor killed before its components could follow it (cli/supervisor.py)
        tell("note: stopped the components left by a supervisor that had died")
    if advertise_address:
        advertise_address = check_advertise_address(advertise_address)
    return advertise_address


def _prepare_machine(state: Path, ports: dict[str, int]) -> Preflight:
    """Check the machine (saying what falls back), make the state directory and the local images."""
    pre = preflight(ports)
    netpol_preflight(pre)
    for note in pre.notes:
        tell(f"note: {note}")
    private_dir(state)
    ensure_images()
    return pre


def _start_supervisor(state: Path, spec: dict[str, Any]) -> None:
    """Write cluster.json and start the supervisor detached (its own session), logging to supervisor.log."""
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


def _wait_until_up(
    state: Path,
    master: str,
    creds: ClusterCredentials,
    comps: list[dict[str, Any]],
    node_name: str,
    timeout: float,
) -> Path:
    """Wait for the apiserver, write the admin's kubeconfig context (returning its file), then wait for every other
    component and for the node to be Ready."""
    wait_for("the apiserver", lambda: is_healthy(f"{master}/readyz", creds.ca), 60, state, "kube-apiserver")
    kubeconfig = _kubeconfig_path()
    ca, cert, key = admin_credentials(creds)
    write_kubeconfig(
        kubeconfig, "kubelite", master, ca_data=ca, context="kubelite", make_current=True,
        user="kubelite-admin", client_cert_data=cert, client_key_data=key,
    )  # fmt: skip
    for c in comps[1:]:
        wait_for(c["name"], functools.partial(is_healthy, c["health"], creds.ca), 60, state, c["name"])
    # After the kubelet answers: a Node kept from an earlier run may still say Ready from back then.
    with _admin_client(creds) as admin:
        wait_for(f"node {node_name} to be Ready", lambda: _node_ready(master, node_name, admin), timeout, state,
              "kubelet")  # fmt: skip
    # The supervisor's own liveness probe (every second) marks each component running: until it has, `kctl status`
    # would say "starting" for a component that already answers.
    wait_for(
        "the supervisor to see every component running",
        lambda: _all_running(state),
        30,
        state,
        "kube-apiserver",
    )
    return kubeconfig


def _all_running(state: Path) -> bool:
    status = read_status(state)
    return bool(status) and all(c.get("state") == "running" for c in status)


def _component_rows(state: Path, spec: dict[str, Any]) -> list[list[str]]:
    """COMPONENT, PID, LISTENS ON, LOG of every component (pids from the supervisor's status.json)."""
    ports, pod_cidr = spec["ports"], spec["pod_cidr"]
    status = read_status(state)
    rows = [["COMPONENT", "PID", "LISTENS ON", "LOG"]]
    for c in spec["components"]:
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
    return rows


def _print_summary(
    state: Path,
    spec: dict[str, Any],
    pre: Preflight,
    etcd_servers: str | None,
    creds: ClusterCredentials,
    kubeconfig: Path,
    advertise_address: str | None,
) -> None:
    """What runs where, and how to use and stop it."""
    port, pod_cidr = spec["port"], spec["pod_cidr"]
    master = f"https://127.0.0.1:{port}"
    print("kubelite is up:")
    print(columns(_component_rows(state, spec)), flush=True)
    hosts: dict[str, list[str]] = {}  # the processes (cli/up_components.py's HOSTS) and their components
    for c in spec["components"]:
        hosts.setdefault(c.get("host") or c["name"], []).append(c["name"])
    shown = [host if names == [host] else f"{host} ({', '.join(names)})" for host, names in hosts.items()]
    print(f"processes: {'; '.join(shown)}")
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
    advertise = _check_start(state, pod_cidr, advertise_address)
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
    pre = _prepare_machine(state, ports)
    master = f"https://127.0.0.1:{port}"
    creds = make_credentials(state, node_name, advertise or default_route_source(), master)
    comps = components(state, ports, node_name, pod_cidr, pre, etcd_servers, creds, advertise)
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
    _start_supervisor(state, spec)
    kubeconfig = _wait_until_up(state, master, creds, comps, node_name, timeout)
    _print_summary(state, spec, pre, etcd_servers, creds, kubeconfig, advertise)


app.command("down")(down)
app.command("status")(status)
