"""Real processes for tests: etcd in a temporary data dir and an apiserver on loopback, on free ports.

Everything started here is stopped by its owner (fixtures in conftest.py), by PID, even when a test fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
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


class Etcd:
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

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


class ApiServer:
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

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

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


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
