"""A host process of `kctl up` (componenthost/, apimachinery/component.py's run_hosted), run for real on a real
apiserver: the scheduler and the controller-manager in one process are still themselves (each its own identity in
the apiserver's audit log, its own /healthz and /metrics port with its own metrics, its own `component` in the
log lines), SIGTERM stops both, and one component that fails takes the whole process down with it (no half-alive
process: the supervisor restarts it with all it hosts; tests/e2e/up/test_up.py shows that on a `kctl up`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apimachinery.user import KUBE_CONTROLLER_MANAGER, KUBE_DNS, KUBE_DNS_GROUPS, KUBE_SCHEDULER
from tests.harness import REPO, ApiServer, free_port, own_apiserver, stop_process, wait_until

pytestmark = pytest.mark.slow

POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
"""


@pytest.fixture(scope="module")
def audited() -> Iterator[tuple[ApiServer, Path]]:
    with tempfile.TemporaryDirectory(prefix="kubelite-host-") as tmp:
        policy, log = Path(tmp) / "policy.yaml", Path(tmp) / "audit.log"
        policy.write_text(POLICY)
        with own_apiserver(["--audit-policy-file", str(policy), "--audit-log-path", str(log)]) as server:
            yield server, log


def _host(name: str, components: list[list[object]], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "componenthost", name, json.dumps(components)],
            stdout=out,
            stderr=out,
            cwd=REPO,
        )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _users(audit_log: Path) -> dict[str, set[str]]:
    """userAgent -> the users the apiserver authenticated for it."""
    out: dict[str, set[str]] = {}
    for line in audit_log.read_text().splitlines():
        event = json.loads(line)
        out.setdefault(str(event.get("userAgent", "")).split("/")[0], set()).add(event["user"]["username"])
    return out


def test_two_components_in_one_process_stay_themselves(
    audited: tuple[ApiServer, Path], tmp_path: Path
) -> None:
    server, audit_log = audited
    cm_port, sched_port = free_port(), free_port()
    log = tmp_path / "host.log"
    proc = _host("control-plane", [
        ["kube-controller-manager", "controller_manager",
         [*server.component_args(KUBE_CONTROLLER_MANAGER), "--port", str(cm_port)]],
        ["kube-scheduler", "scheduler", [*server.component_args(KUBE_SCHEDULER), "--port", str(sched_port)]],
    ], log)  # fmt: skip
    try:
        cm, sched = f"http://127.0.0.1:{cm_port}", f"http://127.0.0.1:{sched_port}"
        wait_until(
            lambda: _answers(f"{cm}/healthz") and _answers(f"{sched}/healthz"), 30, 0.2, what="healthz"
        )
        # Each its own registry: the scheduler's metrics on its port only.
        assert "scheduler_pending_pods" in httpx.get(f"{sched}/metrics", timeout=2).text
        assert "scheduler_pending_pods" not in httpx.get(f"{cm}/metrics", timeout=2).text
        # Each its own identity and connections: the apiserver saw each user agent as its own user only.
        users = wait_until(
            lambda: (
                (u := _users(audit_log)) and {"kube-scheduler", "kube-controller-manager"} <= set(u) and u
            ),
            10,
            0.2,
        )
        assert users["kube-scheduler"] == {KUBE_SCHEDULER}
        assert users["kube-controller-manager"] == {KUBE_CONTROLLER_MANAGER}
        stop_process(proc, timeout=20)
        assert proc.returncode == 0, log.read_text()[-3000:]
    finally:
        stop_process(proc, sig=signal.SIGKILL)
    names = {
        json.loads(line).get("component") for line in log.read_text().splitlines() if line.startswith("{")
    }
    assert {"kube-controller-manager", "kube-scheduler"} <= names, names
    assert not _answers(f"http://127.0.0.1:{sched_port}/healthz")


def test_a_component_that_fails_takes_its_host_process_down(
    audited: tuple[ApiServer, Path], tmp_path: Path
) -> None:
    """kube-dns refuses to publish a loopback address (it exits 2 right after start): the scheduler beside it is
    stopped too and the process exits with kube-dns's code, for the supervisor to restart the whole of it."""
    server, _ = audited
    sched_port = free_port()
    log = tmp_path / "host.log"
    proc = _host("node", [
        ["kube-scheduler", "scheduler", [*server.component_args(KUBE_SCHEDULER), "--port", str(sched_port)]],
        ["kube-dns", "kube_dns", [*server.component_args(KUBE_DNS, KUBE_DNS_GROUPS), "--bind-address", "127.0.0.1",
                                  "--dns-port", "0", "--metrics-port", str(free_port())]],
    ], log)  # fmt: skip
    try:
        assert proc.wait(30) == 2, log.read_text()[-3000:]
    finally:
        stop_process(proc, sig=signal.SIGKILL)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(x["component"] == "kube-dns" and "loopback" in x["msg"] for x in lines), lines
    assert any("stopping the others" in x["msg"] and x["ended"] == ["kube-dns"] for x in lines), lines
    assert not _answers(f"http://127.0.0.1:{sched_port}/healthz")


def test_a_host_refuses_what_is_not_a_component(tmp_path: Path) -> None:
    log = tmp_path / "host.log"
    proc = _host("x", [["kube-apiserver", "apiserver", []]], log)
    assert proc.wait(30) != 0
    assert "'apiserver' is not a component a host runs" in log.read_text()
    proc = _host("x", [["kube-dns", "scheduler", []]], log)
    assert proc.wait(30) != 0
    assert "scheduler.__main__ does not run 'kube-dns'" in log.read_text()


def test_the_supervisor_restarts_a_killed_host_process_with_all_it_hosts(
    audited: tuple[ApiServer, Path], tmp_path: Path
) -> None:
    """cluster.json as `kctl up` writes it: the components of one `host` run in one process, status.json names each
    (with that process's pid), logs/<component>.log links to the process's log, and a kill -9 of the process
    brings both components back in a new one."""
    server, _ = audited
    ports = {"kube-controller-manager": free_port(), "kube-scheduler": free_port()}
    modules = {"kube-controller-manager": "controller_manager", "kube-scheduler": "scheduler"}
    users = {"kube-controller-manager": KUBE_CONTROLLER_MANAGER, "kube-scheduler": KUBE_SCHEDULER}
    components = [
        {"name": name, "host": "control-plane", "backoff": {"initial": 0.2, "cap": 1.0},
         "argv": [sys.executable, "-m", modules[name], *server.component_args(users[name]), "--port", str(port)],
         "health": f"http://127.0.0.1:{port}/healthz", "liveness": f"http://127.0.0.1:{port}/healthz"}
        for name, port in ports.items()
    ]  # fmt: skip
    state = tmp_path / "state"
    state.mkdir()
    (state / "cluster.json").write_text(json.dumps({"components": components}))

    def status() -> dict[str, dict[str, object]]:
        try:
            return {c["name"]: c for c in json.loads((state / "status.json").read_text())["components"]}
        except (OSError, ValueError):
            return {}

    def running(not_pid: object = None) -> dict[str, dict[str, object]] | None:
        now = status()
        pids = {c["pid"] for c in now.values()}
        ok = len(now) == 2 and len(pids) == 1 and None not in pids and not_pid not in pids
        return now if ok and all(c["state"] == "running" for c in now.values()) else None

    with open(state / "supervisor.log", "ab") as log:
        sup = subprocess.Popen(
            [sys.executable, "-m", "cli.supervisor", str(state)], stdout=log, stderr=log, cwd=REPO
        )
    try:
        first = wait_until(running, 30, 0.2, what="both components running in one process")
        pid = first["kube-scheduler"]["pid"]
        assert {c["host"] for c in first.values()} == {"control-plane"}
        assert json.loads(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[4]) == [
            [c["name"], modules[c["name"]], c["argv"][3:]] for c in components
        ]
        for name in ports:
            assert os.readlink(state / "logs" / f"{name}.log") == "control-plane.log"
        os.kill(int(str(pid)), signal.SIGKILL)
        again = wait_until(lambda: running(pid), 30, 0.2, what="both back in a new process")
        assert all(c["restarts"] == 1 for c in again.values()), again
        assert all(_answers(f"http://127.0.0.1:{port}/healthz") for port in ports.values())
        lines = (state / "logs" / "control-plane.log").read_text().splitlines()
        names = {json.loads(line).get("component") for line in lines if line.startswith("{")}
        assert set(ports) <= names
    finally:
        stop_process(sup, timeout=30)
    assert sup.returncode == 0
    assert not any(_answers(f"http://127.0.0.1:{port}/healthz") for port in ports.values())
