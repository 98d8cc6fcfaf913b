"""What the e2e up tests share besides their fixtures (those, and how they set things up, are in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from apimachinery.kubeconfig import load
from tests.harness import REPO, docker_ok, free_pod_cidrs, free_port

# What a test module needs that runs `kctl up`.
UP_MARKS = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow]


def skip_unless_up_can_run() -> None:
    """Skip on a machine where `kctl up` cannot run: no Docker, or not root."""
    if not docker_ok():
        pytest.skip("Docker engine not available")
    if os.geteuid() != 0:
        pytest.skip("kctl up needs root here (bridges, routes, iptables)")


@dataclass
class UpCluster:
    tmp: Path
    node: str = field(default_factory=lambda: "up" + uuid.uuid4().hex[:6])
    # Not the default 10.244.0.0/24, nor the kubelet and proxy e2e tests' range (100-249): a node of another
    # cluster on this machine with the same podCIDR would take the route to our pods.
    pod_cidr: str = field(default_factory=lambda: free_pod_cidrs(1, range(1, 100))[0])
    ports: dict[str, int] = field(
        default_factory=lambda: {
            "port": free_port(),
            "kubelet-port": free_port(),
            "scheduler-port": free_port(),
            "controller-manager-port": free_port(),
            "proxy-port": free_port(),
            "dns-metrics-port": free_port(),
            "netpol-port": free_port(),
            "metrics-server-port": free_port(),
            "metrics-server-health-port": free_port(),
        }
    )
    prefix: list[str] = field(default_factory=list)  # e.g. nsenter ... (tests/e2e/up/confined.py)

    @property
    def state(self) -> Path:
        return self.tmp / "state"

    @property
    def kubeconfig(self) -> Path:
        return self.tmp / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.ports['port']}"

    def up_args(self) -> list[str]:
        args = ["up", "--state-dir", str(self.state), "--node-name", self.node, "--timeout", "60"]
        args += ["--pod-cidr", self.pod_cidr]
        for flag, port in self.ports.items():
            args += [f"--{flag}", str(port)]
        return args

    def kctl(
        self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PYTHONUNBUFFERED": "1", **(env or {})}
        env.pop("KUBELITE_HOME", None)
        return subprocess.run(
            [*self.prefix, sys.executable, "-m", "cli.main", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=timeout,
        )

    def status(self) -> dict[str, dict[str, Any]]:
        """The supervisor's status.json, by component name."""
        data = json.loads((self.state / "status.json").read_text())
        return {c["name"]: c for c in data["components"]}

    def supervisor_pid(self) -> int | None:
        try:
            return int((self.state / "supervisor.pid").read_text())
        except (OSError, ValueError):
            return None

    def api(self) -> httpx.Client:
        """As the admin, with the credentials `kctl up` made (state/kubeconfigs/admin.conf)."""
        config = load(self.state / "kubeconfigs" / "admin.conf")
        return httpx.Client(base_url=self.url, timeout=10, verify=config.ssl_context())

    def log(self, component: str) -> str:
        """The end of the component's log: its lines of its process's log (logs/<component>.log links there when
        it shares a process), and what is not a JSON line (a traceback)."""
        try:
            text = (self.state / "logs" / f"{component}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(line for line in text.splitlines() if _of(line, component))[-4000:]


def _of(line: str, component: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return True
    return not isinstance(record, dict) or record.get("component") in (component, None)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def tear_down(cluster: UpCluster) -> None:
    """`kctl down --purge`; should that fail, kill what the supervisor left, by its process group and pids."""
    pids = []
    if cluster.state.exists():
        try:
            pids = [c["pid"] for c in cluster.status().values() if c.get("pid")]
        except (OSError, ValueError, KeyError):
            pass
        sup = cluster.supervisor_pid()
        if cluster.kctl("down", "--state-dir", str(cluster.state), "--purge").returncode != 0 and sup:
            try:
                os.killpg(sup, signal.SIGKILL)
            except OSError:
                pass
    for pid in pids:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(cluster.tmp, ignore_errors=True)
