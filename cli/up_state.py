"""The state directory of a `kctl up` cluster and its processes: the supervisor's pid and status, components left
by a dead supervisor, and the commands `kctl down` and `kctl status` (registered in cli/up.py).

State directory layout (0700): cluster.json (what `up` started: node, ports, component command lines), status.json
(the supervisor's view: pids, restarts), supervisor.pid, supervisor.log, logs/<component>.log, data/ (SQLite),
kubelet/ (the kubelet's root dir: CNI results and IPAM), cni/ (the node's CNI config), pki/ and kubeconfigs/ (the
cluster's CA and every component's credentials, see cli/credentials.py; keys and kubeconfigs 0600)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import typer

from cli.credentials import ClusterCredentials
from cli.errors import CLIError
from cli.supervisor import host_argv, processes
from cli.up_components import CLUSTER_CIDR, NODE_POD_CIDR, REPO, SERVICE_CIDR

DEFAULT_STATE_DIR = Path(os.environ.get("KUBELITE_HOME", Path.home() / ".kubelite"))


def tell(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed supervisor may wait a while to be reaped by init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[-1][:1] not in ("Z", "X")


def supervisor_pid(state: Path) -> int | None:
    """The pid of the supervisor running from `state`, if it runs (checked by its command line: pids get reused)."""
    try:
        pid = int((state / "supervisor.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if b"cli.supervisor" not in cmdline or str(state).encode() not in cmdline or not _alive(pid):
        return None
    return pid


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line[:300] for line in text[-lines:])


def is_healthy(url: str, ca: Path | None = None) -> bool:
    """GET url answers 200; https URLs are checked against the cluster's CA (their /healthz and /readyz answer
    without credentials)."""
    verify: str | bool = str(ca) if ca is not None and ca.exists() else True
    return httpx.get(url, timeout=2, verify=verify).status_code == 200


def columns(rows: list[list[str]]) -> str:
    """Left-aligned columns, three spaces apart (like `kctl get`), never cut to the terminal's width."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def read_status(state: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads((state / "status.json").read_text())["components"])
    except (OSError, ValueError, KeyError):
        return []


def _stop_supervisor(state: Path, pid: int) -> None:
    """SIGTERM: the supervisor stops the components in reverse order. If it does not finish in time, its whole
    process group (the components are in it) is killed."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and supervisor_pid(state):
        time.sleep(0.2)
    if supervisor_pid(state):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass  # gone meanwhile


def kill_orphans(state: Path) -> int:
    """Components left running by a supervisor that was itself killed (kill -9, OOM): found through status.json,
    and killed only if the pid still runs one of our command lines (pids get reused)."""
    killed = 0
    for pid in {
        int(c["pid"]) for c in read_status(state) if c.get("pid")
    }:  # a host process: several components
        if _alive(pid) and _is_ours(pid, state):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass  # gone meanwhile
    return killed


def _is_ours(pid: int, state: Path) -> bool:
    """The process runs one of our command lines, a component's or a host process's (a pid may have been reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    spec = _read_spec(state)
    try:
        argvs = [
            comps[0]["argv"] if host is None else host_argv(host, comps) for host, comps in processes(spec)
        ]
    except (KeyError, TypeError, ValueError):
        return False
    return any([a.encode() for a in argv] == cmdline[: len(argv)] for argv in argvs)


def _read_spec(state: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state / "cluster.json").read_text()))
    except (OSError, ValueError):
        return {}


def down(
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir"),
    purge: bool = typer.Option(False, "--purge", help="also delete the state directory (data, logs)"),
) -> None:
    """Stop the cluster started by `kctl up` and remove its containers and rules (data stays unless --purge)."""
    state = state_dir.expanduser().resolve()
    pid = supervisor_pid(state)
    if pid:
        _stop_supervisor(state, pid)
        kill_orphans(state)  # should the supervisor have died on the way
        print("stopped the components")
    elif kill_orphans(state):
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
            tell(f"warning: kubelet --cleanup failed: {cleanup.stderr.strip()[-300:]}")
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
            tell(f"warning: kube-proxy --cleanup failed: {proxy.stderr.strip()[-300:]}")
        if any(c.get("name") == "kube-netpol" for c in spec.get("components", [])):
            netpol = subprocess.run(
                [sys.executable, "-m", "netpol", "--cleanup"], capture_output=True, text=True, cwd=str(REPO)
            )
            if netpol.returncode == 0:
                print("removed kube-netpol's rules and sets")
            else:
                tell(f"warning: kube-netpol --cleanup failed: {netpol.stderr.strip()[-300:]}")
    if purge:
        shutil.rmtree(state, ignore_errors=True)
        print(f"deleted {state}")


def status(state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir")) -> None:
    """Show the components that `kctl up` runs and whether they are healthy: from their pids and health endpoints,
    so it is right even when the supervisor is gone."""
    state = state_dir.expanduser().resolve()
    supervisor = supervisor_pid(state)
    recorded = read_status(state)
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
                healthy = "ok" if is_healthy(c["health"], ClusterCredentials(state).ca) else "failing"
            except httpx.HTTPError:
                healthy = "unreachable"
        up_for = f"{int(time.time() - c['started'])}s" if c.get("started") and pid else "-"
        rows.append([c["name"], str(pid or "-"), phase, str(c["restarts"]), up_for, healthy])
    print(columns(rows))
    if not supervisor:
        print("supervisor: not running: nothing restarts these components; `kctl down` stops them")
        return
    try:
        supervisor_health = json.loads((state / "status.json").read_text()).get("health")
    except (OSError, ValueError):
        supervisor_health = None
    if supervisor_health:
        print(f"supervisor: pid {supervisor}, {supervisor_health} and /metrics")
