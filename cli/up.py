"""`kctl up`, `kctl down`, `kctl status`: a whole cluster on this machine with one command.

`up` checks the machine (preflight), writes the cluster's component list to the state directory, starts the
supervisor (cli/supervisor.py) detached, waits until the apiserver answers and the node is Ready, writes a kubeconfig
context and makes it current (keeping the other contexts), and prints what runs where. Storage is the embedded SQLite
backend in the state directory unless --etcd-servers is given. `down` stops everything and removes the containers
and rules the cluster made; the data stays unless --purge.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from apimachinery.kubeconfig import write_kubeconfig
from apimachinery.localimages import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_images
from cli.errors import CLIError

app = typer.Typer()
console = Console()
err_console = Console(stderr=True)

DEFAULT_STATE_DIR = Path(os.environ.get("KUBELITE_HOME", Path.home() / ".kubelite"))
CLUSTER_CIDR = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"
CNI_BIN_DIR = Path("/usr/lib/cni")

COMPONENT_PORTS = {
    "kube-apiserver": 6443,
    "kube-scheduler": 10259,
    "kube-controller-manager": 10257,
    "kubelet": 10250,
    "kube-proxy": 10249,
}


@dataclass
class Preflight:
    proxy_mode: str = "iptables"
    network: str = "cni"
    notes: list[str] | None = None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def preflight(apiserver_port: int) -> Preflight:
    """Check the machine; refuse with a way forward, or choose a fallback and say so."""
    result = Preflight(notes=[])
    assert result.notes is not None
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception:
        raise CLIError(
            "Docker is not running (or this user may not use it): start the engine (`dockerd &` as root, or "
            "`systemctl start docker`) and run `kctl up` again"
        ) from None
    ports = dict(COMPONENT_PORTS, **{"kube-apiserver": apiserver_port})
    taken = [f"{name} port {port}" for name, port in ports.items() if not _port_free(port)]
    if taken:
        raise CLIError(
            f"ports in use: {', '.join(taken)}. Stop what uses them, or run `kctl down` if a cluster is already up "
            "(for the apiserver, `kctl up --port N` picks another port)"
        )
    iptables = shutil.which("iptables")
    ok = (
        iptables is not None
        and subprocess.run([iptables, "-w", "5", "-t", "nat", "-L", "-n"], capture_output=True).returncode
        == 0
    )
    if not ok:
        result.proxy_mode = "userspace"
        result.notes.append("no right to change iptables here: kube-proxy runs in userspace mode")
    if not (CNI_BIN_DIR / "bridge").exists():
        result.network = "docker-bridge"
        result.notes.append(
            f"CNI plugins not found in {CNI_BIN_DIR} (Debian: apt-get install "
            "containernetworking-plugins): pods use a Docker bridge network instead"
        )
    return result


def components(state: Path, port: int, node: str, pre: Preflight, etcd_servers: str | None) -> list[dict]:
    py = sys.executable
    master = f"http://127.0.0.1:{port}"
    storage = (
        ["--etcd-servers", etcd_servers]
        if etcd_servers
        else ["--storage-backend", "sqlite", "--data-dir", str(state / "data")]
    )
    return [
        {
            "name": "kube-apiserver",
            "health": f"{master}/readyz",
            "argv": [py, "-m", "apiserver", "--bind-address", "127.0.0.1", "--port", str(port), *storage],
        },
        {
            "name": "kube-controller-manager",
            "health": "http://127.0.0.1:10257/healthz",
            "argv": [py, "-m", "controller_manager", "--master", master, "--cluster-cidr", CLUSTER_CIDR],
        },
        {
            "name": "kube-scheduler",
            "health": "http://127.0.0.1:10259/healthz",
            "argv": [py, "-m", "scheduler", "--master", master],
        },
        {
            "name": "kubelet",
            "health": "http://127.0.0.1:10250/healthz",
            "argv": [
                py,
                "-m",
                "kubelet",
                "--master",
                master,
                "--node-name",
                node,
                "--pod-cidr",
                NODE_POD_CIDR,
                "--root-dir",
                str(state / "kubelet"),
                "--cni-conf-dir",
                str(state / "cni"),
                "--network",
                "cni" if pre.network == "cni" else "docker-bridge",
            ],
        },
        {
            "name": "kube-proxy",
            "health": "http://127.0.0.1:10249/healthz",
            "argv": [
                py,
                "-m",
                "kube_proxy",
                "--master",
                master,
                "--node-name",
                node,
                "--proxy-mode",
                pre.proxy_mode,
                "--cluster-cidr",
                CLUSTER_CIDR,
            ],
        },
    ]


def _supervisor_pid(state: Path) -> int | None:
    try:
        pid = int((state / "supervisor.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _wait(what: str, check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    with console.status(f"waiting for {what}...") if console.is_terminal else _Plain(what):
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass  # not up yet
            time.sleep(0.3)
    raise CLIError(f"timed out waiting for {what}; see the logs in the state directory")


class _Plain:
    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        print(f"waiting for {self.what}...", flush=True)

    def __exit__(self, *exc: object) -> None:
        return None


def _node_ready(master: str, node: str) -> bool:
    r = httpx.get(f"{master}/api/v1/nodes/{node}", timeout=2)
    if r.status_code != 200:
        return False
    conditions = (r.json().get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@app.command("up")
def up(
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir", help="where data, logs and pids live"),
    port: int = typer.Option(6443, "--port", help="the apiserver's port on 127.0.0.1"),
    etcd_servers: str = typer.Option(None, "--etcd-servers", help="use etcd at these URLs instead of SQLite"),
    node_name: str = typer.Option(
        socket.gethostname(), "--node-name", help="the name of this machine's node"
    ),
    timeout: float = typer.Option(90, "--timeout", help="seconds to wait for the node to be Ready"),
) -> None:
    """Start a cluster on this machine: apiserver, scheduler, controller-manager, kubelet and kube-proxy."""
    state = state_dir.expanduser().resolve()
    if _supervisor_pid(state):
        raise CLIError(
            f"a cluster is already running from {state}; `kctl status` shows it, `kctl down` stops it"
        )
    pre = preflight(port)
    for note in pre.notes or []:
        err_console.print(f"note: {note}")
    state.mkdir(parents=True, exist_ok=True)
    ensure_images()
    comps = components(state, port, node_name, pre, etcd_servers)
    (state / "cluster.json").write_text(
        json.dumps({"node": node_name, "port": port, "components": comps}, indent=2)
    )
    log = open(state / "supervisor.log", "ab")  # handed to the child
    subprocess.Popen(
        [sys.executable, "-m", "cli.supervisor", str(state)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    log.close()
    master = f"http://127.0.0.1:{port}"
    _wait("the apiserver", lambda: httpx.get(f"{master}/readyz", timeout=2).status_code == 200, 60)
    kubeconfig = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(":")[0]).expanduser()
    write_kubeconfig(kubeconfig, "kubelite", master, context="kubelite", make_current=True)
    _wait(f"node {node_name} to be Ready", lambda: _node_ready(master, node_name), timeout)
    table = Table(title="kubelite is up", show_edge=False)
    for col in ("component", "pid", "listens on", "log"):
        table.add_column(col)
    status = _read_status(state)
    for c in comps:
        pid = next((s.get("pid") for s in status if s["name"] == c["name"]), None)
        table.add_row(
            c["name"],
            str(pid or "-"),
            str(c.get("health") or "").rsplit("/", 1)[0],
            str(state / "logs" / f"{c['name']}.log"),
        )
    console.print(table)
    console.print(
        f"storage: {'etcd at ' + etcd_servers if etcd_servers else 'SQLite in ' + str(state / 'data')}"
    )
    console.print(f"kubeconfig: context [bold]kubelite[/bold] in {kubeconfig} (now current)")
    console.print(f"images: {PAUSE_IMAGE} (pod sandbox), {BUSYBOX_IMAGE} (for examples)")
    console.print("try: kctl get nodes")


def _read_status(state: Path) -> list[dict]:
    try:
        return list(json.loads((state / "status.json").read_text())["components"])
    except (OSError, ValueError, KeyError):
        return []


@app.command("down")
def down(
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir"),
    purge: bool = typer.Option(False, "--purge", help="also delete the cluster's data"),
) -> None:
    """Stop the cluster started by `kctl up` and remove its containers and rules (data stays unless --purge)."""
    state = state_dir.expanduser().resolve()
    pid = _supervisor_pid(state)
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _supervisor_pid(state):
            time.sleep(0.2)
        if _supervisor_pid(state):
            os.kill(pid, signal.SIGKILL)
        console.print("stopped the components")
    else:
        console.print("no cluster is running from " + str(state))
    spec = {}
    try:
        spec = json.loads((state / "cluster.json").read_text())
    except (OSError, ValueError):
        pass
    node = spec.get("node")
    if node:
        removed = _remove_containers(node)
        console.print(f"removed {removed} containers of node {node}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "kubelet",
                "--node-name",
                node,
                "--root-dir",
                str(state / "kubelet"),
                "--cni-conf-dir",
                str(state / "cni"),
                "--cleanup",
            ],
            capture_output=True,
        )
    subprocess.run([sys.executable, "-m", "kube_proxy", "--cleanup"], capture_output=True)
    console.print("removed kube-proxy's rules")
    if purge:
        shutil.rmtree(state, ignore_errors=True)
        console.print(f"deleted {state}")


def _remove_containers(node: str) -> int:
    try:
        import docker

        client = docker.from_env(timeout=30)
        containers = client.containers.list(all=True, filters={"label": f"io.kubelite.node={node}"})
        for c in containers:
            c.remove(force=True)
        return len(containers)
    except Exception:
        return 0


@app.command("status")
def status(state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir")) -> None:
    """Show the components that `kctl up` runs and whether they are healthy."""
    state = state_dir.expanduser().resolve()
    if not _supervisor_pid(state):
        raise CLIError(f"no cluster is running from {state} (start one with `kctl up`)")
    table = Table(show_edge=False)
    for col in ("COMPONENT", "PID", "STATE", "RESTARTS", "UP", "HEALTH"):
        table.add_column(col)
    for c in _read_status(state):
        healthy = "-"
        if c.get("health") and c.get("pid"):
            try:
                healthy = "ok" if httpx.get(c["health"], timeout=2).status_code == 200 else "failing"
            except httpx.HTTPError:
                healthy = "unreachable"
        up_for = f"{int(time.time() - c['started'])}s" if c.get("started") and c.get("pid") else "-"
        table.add_row(c["name"], str(c.get("pid") or "-"), c["state"], str(c["restarts"]), up_for, healthy)
    console.print(table)
