"""On a terminal, waiting commands show one live line and `get -w` redraws one table in place (real
subprocesses on a pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests import factories
from tests.harness import REPO

pytestmark = pytest.mark.etcd


class Terminal:
    """kctl running with a pseudo-terminal as stdin/stdout/stderr."""

    def __init__(self, args: list[str], kubeconfig) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=REPO,
            env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin", "TERM": "xterm", "COLUMNS": "120"},
        )
        os.close(slave)
        self.out = b""

    def read_until(self, done: Callable[[bytes], bool], timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(self.out):
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        return self.out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        os.close(self.master)


def test_waiting_shows_a_live_line(api, ns, kubeconfig):
    api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("tty", container="web", ports=[80])
    )
    term = Terminal(["rollout", "status", "deploy/tty", "--timeout=2s"], kubeconfig)
    try:
        out = term.read_until(lambda o: b"timed out" in o)
    finally:
        term.close()
    assert b"Waiting for deployment spec update to be observed..." in out
    assert b"\r\x1b[2K" in out  # the line is redrawn in place, not printed again and again
    assert out.count(b"Waiting for deployment spec update to be observed...\r\n") <= 1
    assert b"error: timed out waiting for the condition" in out


def test_watch_redraws_the_table(api, ns, kubeconfig):
    api.post(
        f"/api/v1/namespaces/{ns}/pods",
        factories.pod("tty-pod", {"app": "tty"}, image="busybox", container="main"),
    )
    term = Terminal(["get", "pods", "-w", "-l", "app=tty"], kubeconfig)
    try:
        term.read_until(lambda o: b"tty-pod" in o)
        api.write_status(f"/api/v1/namespaces/{ns}/pods/tty-pod", {"phase": "Running"})
        out = term.read_until(lambda o: b"Running" in o)
        assert b"Running" in out
        api.http.delete(f"/api/v1/namespaces/{ns}/pods/tty-pod")
        # Deleted rows leave the live table: the last frame is only the header.
        out = term.read_until(lambda o: o.rstrip().endswith(b"AGE"), timeout=10)
        assert out.rstrip().endswith(b"AGE"), out[-300:]
    finally:
        term.close()
