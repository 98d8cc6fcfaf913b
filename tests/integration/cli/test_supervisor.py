"""The supervisor behind `kctl up` (cli/supervisor.py), run for real on components that are real HTTP servers
(`python -m http.server`, whose / answers 200): a hung component is restarted by its liveness probe, a crash is
restarted at once when the last start had become healthy, and a supervisor killed -9 takes its components along.
The chaos tests on a whole `kctl up` cluster are in tests/e2e/up/test_chaos.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import REPO, free_port, wait_until

pytestmark = pytest.mark.slow


@dataclass
class Supervised:
    state: Path
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]

    def status(self) -> dict[str, dict[str, Any]]:
        data = json.loads((self.state / "status.json").read_text())
        return {c["name"]: c for c in data["components"]}

    def answers(self, name: str) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.ports[name]}/", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return (self.state / "supervisor.log").read_text(errors="replace")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1][:1] not in ("Z", "X")
    except OSError:
        return False


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Supervised]:
    ports = {"web": free_port(), "other": free_port()}
    components = [
        {
            "name": name,
            "argv": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(tmp_path),
                     str(port)],
            "health": f"http://127.0.0.1:{port}/",
            "liveness": f"http://127.0.0.1:{port}/",
            "backoff": {"initial": 0.2, "cap": 2.0},
        }
        for name, port in ports.items()
    ]  # fmt: skip
    state = tmp_path / "state"
    state.mkdir()
    (state / "cluster.json").write_text(json.dumps({"components": components}))
    with open(state / "supervisor.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.supervisor", str(state)], stdout=log, stderr=log, cwd=REPO
        )
    sup = Supervised(state, proc, ports)
    pids: set[int] = set()
    try:
        wait_until(lambda: all(sup.answers(n) for n in ports), 20, 0.1, what="the components to answer")
        # Running: their liveness probes have passed once, so failures count from now on.
        wait_until(
            lambda: all(c["state"] == "running" for c in sup.status().values()), 10, 0.1, what="running"
        )
        yield sup
    finally:
        try:
            pids = {c["pid"] for c in sup.status().values() if c.get("pid")}
        except (OSError, ValueError):
            pass
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_hung_component_is_restarted_by_its_liveness_probe(supervised: Supervised) -> None:
    before = supervised.status()["web"]
    os.kill(before["pid"], signal.SIGSTOP)
    start = time.monotonic()

    def restarted() -> bool:
        now = supervised.status()["web"]
        return bool(now.get("pid") and now["pid"] != before["pid"] and supervised.answers("web"))

    wait_until(restarted, 15, 0.1, what="the stopped component to be replaced")
    assert time.monotonic() - start < 15
    assert not _alive(before["pid"])  # the hung process was killed, not left behind
    now = supervised.status()["web"]
    assert now["restarts"] == 1
    assert "web: liveness probe failed 3 times" in supervised.log()
    assert supervised.status()["other"]["restarts"] == 0


def test_crashes_after_a_healthy_start_restart_quickly_each_time(supervised: Supervised) -> None:
    outages = []
    for n in range(1, 4):
        pid = supervised.status()["web"]["pid"]
        os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        wait_until(
            lambda p=pid: (
                supervised.status()["web"].get("pid") not in (None, p) and supervised.answers("web")
            ),
            10,
            0.02,
            what=f"restart {n}",
        )
        outages.append(time.monotonic() - start)
        # Healthy again: the probe resets the back-off before the next crash.
        wait_until(lambda: supervised.status()["web"]["state"] == "running", 5, 0.05, what="running again")
    assert supervised.status()["web"]["restarts"] == 3
    assert max(outages) < 2.0, outages
    assert "restarting in 0.2s" in supervised.log()
    assert "restarting in 0.4s" not in supervised.log()  # never grew: each restart had become healthy


def test_components_die_with_a_killed_supervisor(supervised: Supervised) -> None:
    pids = [c["pid"] for c in supervised.status().values()]
    supervised.proc.kill()
    supervised.proc.wait(5)
    wait_until(lambda: not any(_alive(p) for p in pids), 5, 0.05, what="no orphan left")
    assert not any(supervised.answers(n) for n in supervised.ports)


def test_kctl_status_without_a_supervisor_reads_pids_and_health(tmp_path: Path) -> None:
    """Components running with no supervisor (one that died before they could follow it): `kctl status` finds
    them by their pids and command lines and asks their health URLs; a recorded pid that is gone is not running."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
        str(port),
    ]
    gone = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(free_port())]
    state = tmp_path / "state"
    state.mkdir()
    health = f"http://127.0.0.1:{port}/"
    spec = {"components": [{"name": "web", "argv": argv, "health": health}, {"name": "old", "argv": gone}]}
    (state / "cluster.json").write_text(json.dumps(spec))
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        wait_until(lambda: httpx.get(health, timeout=0.5).status_code == 200, 10, 0.1, what="the component")
        components = [
            {"name": "web", "pid": proc.pid, "state": "running", "restarts": 2, "started": time.time(), "health": health},
            {"name": "old", "pid": dead.pid, "state": "running", "restarts": 0, "started": time.time(), "health": None},
        ]  # fmt: skip
        (state / "status.json").write_text(json.dumps({"supervisor": 1, "components": components}))
        r = subprocess.run(
            [sys.executable, "-m", "cli.main", "status", "--state-dir", str(state)],
            capture_output=True, text=True, cwd=REPO, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:] if line.split()}
        assert rows["web"][:3] == ["web", str(proc.pid), "running"] and rows["web"][-1] == "ok", r.stdout
        assert "unsupervised" in r.stdout.splitlines()[1]
        assert rows["old"][1] == "-" and "not running" in r.stdout.splitlines()[2], r.stdout
        assert r.stdout.splitlines()[-1].startswith("supervisor: not running"), r.stdout
    finally:
        proc.kill()
        proc.wait(5)
    r = subprocess.run(
        [sys.executable, "-m", "cli.main", "status", "--state-dir", str(state)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert r.returncode != 0 and "no cluster is running" in r.stderr
