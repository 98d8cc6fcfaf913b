"""kube-netpol as a real process for tests and benchmarks, plus reading back what it programmed (iptables, ipset).

The agent runs as its own identity (`agent_args`: system:kube-netpol:<node>, with the bootstrap role
system:kube-netpol) on the HTTPS apiserver. `NetpolProc.cleanup()` stops the agent and runs `python -m netpol --cleanup` (chains, the jump from FORWARD, sets),
whatever the test did. With `path_prefix`, the agent finds iptables and ipset there first: tests put wrappers there
that run the real tools inside a network namespace of their own. The readers take a `netns` for the same reason.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.components import LogFile
from tests.harness import REPO, ApiServer, free_port, netpol_identity, stop_process
from tests.polling import wait_until

SYNC_METRICS = re.compile(
    r"^(netpol_sync_duration_seconds_(?:sum|count)|netpol_[a-z_]+(?:\{[^}]*\})?) (\S+)$"
)


def need_tools() -> None:
    missing = [t for t in ("iptables-restore", "ipset", "ip") if not shutil.which(t)]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"kube-netpol tests need root, iptables, ipset and iproute2 (missing: {missing})")


def _in(netns: str | None, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv] if netns else argv


def iptables_lines(netns: str | None = None) -> list[str]:
    """iptables-save lines of our chains and the jump into them."""
    out = subprocess.run(_in(netns, ["iptables-save", "-t", "filter"]), capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if "KLNP-" in line]


def forward_rules(netns: str | None = None) -> list[str]:
    out = subprocess.run(_in(netns, ["iptables", "-w", "5", "-S", "FORWARD"]), capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.startswith("-A FORWARD")]


def our_sets(netns: str | None = None) -> dict[str, set[str]]:
    """Our ipsets and their members."""
    out = subprocess.run(_in(netns, ["ipset", "save"]), capture_output=True, text=True).stdout
    sets: dict[str, set[str]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("KLNP-"):
            if parts[0] == "create":
                sets.setdefault(parts[1], set())
            elif parts[0] == "add":
                sets.setdefault(parts[1], set()).add(parts[2])
    return sets


def agent_args(apiserver: ApiServer, node: str) -> list[str]:
    """How kube-netpol reaches `apiserver`: a kubeconfig of the agent's own identity on `node`."""
    return apiserver.component_args(*netpol_identity(node))


@dataclass
class NetpolProc(LogFile):
    client_args: list[str]  # --kubeconfig PATH of its identity (agent_args), or an admin's in a benchmark
    node_names: list[str]
    extra: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    lock_file: str | None = None
    path_prefix: str | None = None  # a folder searched first for iptables and ipset (wrappers, in tests)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def args(self) -> list[str]:
        nodes = [a for n in self.node_names for a in ("--node-name", n)]
        lock = ["--lock-file", self.lock_file] if self.lock_file else []
        return [
            "netpol", *self.client_args, *nodes, "--port", str(self.port),
            "--min-sync-period", "0.2", "--sync-period", "5", *lock, *self.extra,
        ]  # fmt: skip

    def start(self, wait: bool = True, timeout: float = 60) -> None:
        self.discard_log()
        fd, name = tempfile_log()
        self.log_path = Path(name)
        with os.fdopen(fd, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *self.args()],
                stdout=log,
                stderr=log,
                cwd=REPO,
                env=self._env(),
            )
        if wait:
            wait_until(self.healthy, timeout, 0.1, what="kube-netpol healthz")

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.path_prefix:
            env["PATH"] = f"{self.path_prefix}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
        return env

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _get(self, path: str) -> httpx.Response:
        return httpx.get(self._url(path), timeout=2)

    def healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"kube-netpol exited:\n{self.logs()[-3000:]}")
        try:
            return self._get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def metrics(self) -> dict[str, float]:
        found = {}
        for line in self._get("/metrics").text.splitlines():
            m = SYNC_METRICS.match(line)
            if m:
                found[m.group(1)] = float(m.group(2))
        return found

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        proc = self.proc
        stop_process(proc, timeout=15, sig=sig)
        self.proc = None
        return proc.returncode if proc else None

    def run_cleanup(self) -> subprocess.CompletedProcess[str]:
        lock = ["--lock-file", self.lock_file] if self.lock_file else []
        return subprocess.run(
            [sys.executable, "-m", "netpol", "--cleanup", *lock],
            cwd=REPO,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def cleanup(self) -> None:
        """Stop, then remove every chain, rule and set of ours."""
        self.stop()
        self.run_cleanup()
        self.discard_log()


def tempfile_log() -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(prefix="kubelite-netpol-", suffix=".log")
