"""kube-proxy as a real process for tests, plus reading back what it programmed (iptables-save, routes).

`KubeProxyProc.cleanup()` runs `python -m kube_proxy --cleanup` (rules, addresses, guard device and routes) and
puts net.ipv4.conf.all.route_localnet back to what it was when the object was made, whatever the test did.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.components import LogFile
from tests.harness import KUBE_PROXY, REPO, ApiServer, free_port, start_component, stop_process
from tests.polling import wait_until

ROUTE_LOCALNET = Path("/proc/sys/net/ipv4/conf/all/route_localnet")
CLUSTER_CIDR = "10.244.0.0/16"
DOCKER_USER_COMMENT = "kubelite service traffic (DNAT)"


def need_iptables() -> None:
    if os.geteuid() != 0 or not shutil.which("iptables-restore") or not shutil.which("ip"):
        pytest.skip("kube-proxy tests need root, iptables and iproute2")


def iptables_save(table: str | None = None) -> str:
    args = ["iptables-save"] + (["-t", table] if table else [])
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def our_lines(text: str | None = None) -> list[str]:
    """Every line of iptables-save that kube-proxy made: KUBE- chains, rules and jumps, and its DOCKER-USER rule."""
    text = iptables_save() if text is None else text
    return [line for line in text.splitlines() if "KUBE-" in line or DOCKER_USER_COMMENT in line]


def service_lines(namespace: str, name: str, text: str | None = None) -> list[str]:
    """Rules whose comment names the service `namespace/name` (any of its ports)."""
    pattern = re.compile(
        rf'"{re.escape(namespace)}/{re.escape(name)}[: "]|"{re.escape(namespace)}/{re.escape(name)}"'
    )
    return [line for line in our_lines(text) if pattern.search(line)]


@dataclass
class KubeProxyProc(LogFile):
    apiserver: ApiServer  # kube-proxy runs as system:kube-proxy on it
    mode: str = "iptables"
    extra: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    route_localnet_before: str = field(default_factory=lambda: ROUTE_LOCALNET.read_text().strip())

    def args(self) -> list[str]:
        return [
            "kube_proxy",
            *self.apiserver.component_args(*KUBE_PROXY),
            "--node-name",
            "test-node",
            "--proxy-mode",
            self.mode,
            "--port",
            str(self.port),
            "--cluster-cidr",
            CLUSTER_CIDR,
            "--min-sync-period",
            "0.5",
            "--sync-period",
            "10",
            *self.extra,
        ]

    def start(self, wait: bool = True, timeout: float = 120) -> None:
        """Start and wait for the first sync. A kube-proxy of another test run on this machine holds the lock
        meanwhile? Ours waits for it to exit (see kube_proxy.lock), hence the long default timeout."""
        self.discard_log()
        self.proc, self.log_path = start_component(self.args(), f"kube-proxy-{self.mode}")
        if wait:
            wait_until(self.healthy, timeout, 0.1, what="kube-proxy healthz")

    def healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"kube-proxy exited:\n{self.logs()[-3000:]}")
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).text

    def stop(self) -> int | None:
        """SIGTERM (kube-proxy removes its rules on the way out); returns the exit code."""
        proc = self.proc
        stop_process(proc, timeout=15)
        self.proc = None
        return proc.returncode if proc else None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        """Stop, then remove every rule, address, device and route of kube-proxy; restore route_localnet."""
        self.stop()
        run_cleanup()
        ROUTE_LOCALNET.write_text(self.route_localnet_before)
        self.discard_log()


def run_cleanup() -> subprocess.CompletedProcess[str]:
    """`kube-proxy --cleanup` (it refuses, exit 1, while a kube-proxy holds the lock)."""
    return subprocess.run(
        [sys.executable, "-m", "kube_proxy", "--cleanup"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextlib.contextmanager
def local_address(address: str = "10.244.251.1") -> Iterator[str]:
    """`address` made local on a device of this test (removed afterwards): a backend for Endpoints, which may not
    be loopback addresses."""
    device = f"klb{uuid.uuid4().hex[:6]}"
    # A local address is delivered locally whatever its device; dummy where the kernel has it, else ifb.
    for kind in ("dummy", "ifb"):
        if subprocess.run(["ip", "link", "add", device, "type", kind], capture_output=True).returncode == 0:
            break
    else:
        pytest.skip("neither dummy nor ifb devices are available")
    try:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", device], check=True, capture_output=True)
        subprocess.run(["ip", "link", "set", device, "up"], check=True, capture_output=True)
        yield address
    finally:
        subprocess.run(["ip", "link", "del", device], capture_output=True)
