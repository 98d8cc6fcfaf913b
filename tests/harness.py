"""Real processes for tests: etcd in a temporary data dir and an apiserver on loopback, on free ports.

Everything started here is stopped by its owner (fixtures in conftest.py), by PID, even when a test fails.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; return it. Raise TimeoutError after `timeout`."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the predicate may fail until the thing it waits for is up
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout}s waiting for {what}"
        + (f" (last error: {last_exc!r})" if last_exc else "")
    )


def docker_ok() -> bool:
    """Whether a Docker engine answers here (tests that need one skip otherwise)."""
    return (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )


def route_exists(cidr: str) -> bool:
    """Whether this machine has a route for exactly `cidr` (e.g. a cluster's guard route, left by another run)."""
    out = subprocess.run(["ip", "-j", "route", "show", "exact", cidr], capture_output=True, text=True).stdout
    return bool(json.loads(out or "[]"))


_pod_thirds_given: set[int] = set()


def free_pod_cidrs(count: int, thirds: range) -> list[str]:
    """`count` pod CIDRs 10.244.N.0/24, N from `thirds`, that no route of this machine uses now and that no other
    caller in this test run was given. Two bridges with one subnet take each other's traffic: a pod address then
    leads to the other bridge (a session-wide kubelet pair keeps its bridges to the end of the run)."""
    out = subprocess.run(["ip", "-j", "-4", "route", "show"], capture_output=True, text=True).stdout
    routed = set()
    for route in json.loads(out or "[]"):
        parts = str(route.get("dst", "")).split("/")[0].split(".")
        if len(parts) == 4 and parts[:2] == ["10", "244"]:
            routed.add(int(parts[2]))
    picked = random.sample(sorted(set(thirds) - routed - _pod_thirds_given), count)
    _pod_thirds_given.update(picked)
    return [f"10.244.{n}.0/24" for n in picked]


def freeze(proc: subprocess.Popen[bytes]) -> None:
    """SIGSTOP `proc` and return once every one of its threads has stopped: the signal is only queued when kill()
    returns, and a thread that is running may still answer a request or two before it takes effect."""
    proc.send_signal(signal.SIGSTOP)

    def stopped() -> bool:
        tasks = Path(f"/proc/{proc.pid}/task")
        states = [(t / "stat").read_text().rsplit(")", 1)[1].split()[0] for t in tasks.iterdir()]
        return all(s in ("T", "t") for s in states)

    wait_until(stopped, 5, 0.01, what=f"process {proc.pid} stopped")


class _Server:
    """A server process of ours: `start` (by the subclass), `stop` by signal, `restart`."""

    proc: subprocess.Popen[bytes] | None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig=sig)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Etcd(_Server):
    """A single-member etcd on loopback with its own data dir."""

    def __init__(self) -> None:
        self.binary = shutil.which("etcd") or "/usr/bin/etcd"
        self.data_dir = tempfile.mkdtemp(prefix="kubelite-etcd-")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(self.data_dir + ".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--name",
                "test",
                "--data-dir",
                self.data_dir,
                "--listen-client-urls",
                self.url,
                "--advertise-client-urls",
                self.url,
                "--listen-peer-urls",
                f"http://127.0.0.1:{self.peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{self.peer_port}",
                "--initial-cluster",
                f"test=http://127.0.0.1:{self.peer_port}",
                "--quota-backend-bytes",
                str(2 * 1024**3),
                "--unsafe-no-fsync",
            ],
            stdout=log,
            stderr=log,
        )
        log.close()
        wait_until(
            lambda: httpx.get(self.url + "/health", timeout=1).status_code == 200, 20, what="etcd health"
        )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


class ApiServer(_Server):
    """`python -m apiserver` on a free loopback port, as a user would start it."""

    def __init__(self, etcd_url: str | None = None, extra_args: list[str] | None = None) -> None:
        self.etcd_url = etcd_url
        self.port = free_port()
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="kubelite-apiserver-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_ready: bool = True) -> None:
        args = [sys.executable, "-m", "apiserver", "--bind-address", "127.0.0.1", "--port", str(self.port)]
        if self.etcd_url:
            args += ["--etcd-servers", self.etcd_url]
        args += self.extra_args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=log, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        log.close()
        if wait_ready:
            wait_until(
                lambda: httpx.get(self.url + "/readyz", timeout=1).status_code == 200,
                30,
                what="apiserver ready",
            )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_component(args: list[str], log_name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `python -m <component> ...` with its log in a temp file; the caller stops it."""
    log_path = Path(tempfile.mkstemp(prefix=f"kubelite-{log_name}-", suffix=".log")[1])
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        stdout=log,
        stderr=log,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    return proc, log_path


def stop_process(
    proc: subprocess.Popen[bytes] | None, timeout: float = 10, sig: int = signal.SIGTERM
) -> None:
    """Send `sig` to a running process and wait `timeout` for it; kill it if it does not exit."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def running_apiserver(etcd_url: str | None, extra_args: list[str] | None = None) -> Iterator[ApiServer]:
    """An apiserver on `etcd_url` with `extra_args`, ready; stopped and its log removed afterwards."""
    server = ApiServer(etcd_url, extra_args)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)


@contextmanager
def own_apiserver(extra_args: list[str] | None = None) -> Iterator[ApiServer]:
    """A fresh etcd and an apiserver on it, for tests whose state must not be shared; both go away after."""
    etcd = Etcd()
    etcd.start()
    try:
        with running_apiserver(etcd.url, extra_args) as server:
            yield server
    finally:
        etcd.destroy()
