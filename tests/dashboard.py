"""A running dashboard for tests: `kctl dashboard` as a user runs it (`--port 0 --no-open`), on loopback.

`running_dashboard(kubeconfig, *flags)` starts it, reads the URL with its access token from what it prints,
and stops it by PID afterwards (its log removed unless the test failed and KUBELITE_KEEP_LOGS is set).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.harness import discard_log, start_component, stop_process
from tests.polling import wait_until


@dataclass
class Dashboard:
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""  # http://127.0.0.1:<port> (https:// beyond loopback)
    token: str = ""
    verify: object = True  # what httpx checks the dashboard's certificate with

    @property
    def login_url(self) -> str:
        return f"{self.url}/?token={self.token}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, **kw: object) -> httpx.Client:
        """An httpx client that presents the token (as a bearer, like a script would)."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            trust_env=False,
            verify=self.verify,  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )

    def _read_url(self) -> bool:
        m = re.search(r"Open: (https?://[^/\s]+)/\?token=(\S+)", self.log())
        if m:
            # Listening on all addresses, it names the host; the tests reach it on loopback only.
            self.url = re.sub(r"//[^:/]+:", "//127.0.0.1:", m.group(1))
            self.token = m.group(2)
        if self.proc.poll() is not None:
            raise RuntimeError(f"the dashboard exited:\n{self.log()}")
        return bool(m)


@contextmanager
def running_dashboard(kubeconfig: Path, *flags: str, verify: object = True) -> Iterator[Dashboard]:
    # Through kctl, as a user starts it: kctl replaces itself with `python -m dashboard`.
    proc, log_path = start_component(
        ["cli.main", "--kubeconfig", str(kubeconfig), "dashboard", "--port", "0", "--no-open", *flags],
        "dashboard",
    )
    board = Dashboard(proc, log_path, verify=verify)
    try:
        wait_until(board._read_url, 20, 0.05, what="the dashboard's URL")
        with board.client() as c:
            wait_until(lambda: c.get("/healthz").status_code == 200, 10)
        yield board
    finally:
        stop_process(proc)
        discard_log(log_path)
