"""Restarts and probes, deletion, images, re-adoption and orphans on real kubelets (back-off 2 s doubling to 16 s)."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.e2e.kubelet.helpers import NodePair, make_pod
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e]


def _status(pod: dict | None, name: str) -> dict:
    assert pod is not None, "the pod is gone"
    return next(s for s in pod["status"]["containerStatuses"] if s["name"] == name)


def _ready(pod: dict) -> str:
    return {c["type"]: c["status"] for c in pod["status"].get("conditions") or []}.get("Ready", "")


def test_crashing_container_backs_off(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(
        ns, make_pod("crash", node_pair.a.name, [{"name": "c", "command": ["sh", "-c", "exit 3"]}])
    )
    seen_backoff = node_pair.wait_pod(ns, "crash", lambda p: (_status(p, "c")["state"].get("waiting") or {}).get(
        "reason") == "CrashLoopBackOff", 20, "CrashLoopBackOff")  # fmt: skip
    c = _status(seen_backoff, "c")
    assert c["lastState"]["terminated"]["exitCode"] == 3
    assert c["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off" in c["state"]["waiting"]["message"]
    assert seen_backoff["status"]["phase"] == "Running"
    # Restarts keep coming, each after a longer wait: 0 s, 2 s, 4 s, ...
    restarts: dict[int, float] = {}

    def count() -> bool:
        pod = node_pair.get_pod(ns, "crash")
        n = _status(pod, "c")["restartCount"]
        restarts.setdefault(n, time.monotonic())
        return n >= 3

    wait_until(count, 25, 0.1, "three restarts")
    if 2 in restarts and 3 in restarts:
        assert restarts[3] - restarts[2] >= 3.0  # the 4 s step (2 s would be the previous one)
    reasons = {e["reason"] for e in node_pair.events(ns, "crash")}
    assert {"Created", "Started", "BackOff"} <= reasons


def test_failing_liveness_probe_restarts(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("live", node_pair.b.name, [{
        "name": "c",
        "command": ["sh", "-c", "touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 3600"],
        "livenessProbe": {"exec": {"command": ["cat", "/tmp/alive"]}, "periodSeconds": 1, "failureThreshold": 2},
    }]))  # fmt: skip
    pod = node_pair.wait_pod(
        ns, "live", lambda p: _status(p, "c")["restartCount"] >= 1, 25, "liveness restart"
    )
    assert _status(pod, "c")["lastState"]["terminated"]["exitCode"] != 0
    reasons = {e["reason"] for e in node_pair.events(ns, "live")}
    assert {"Unhealthy", "Killing"} <= reasons


def test_readiness_probe_flips_ready(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("ready", node_pair.a.name, [{
        "name": "c",
        "command": ["sh", "-c", "mkdir /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www"],
        "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1,
                           "failureThreshold": 1},
    }]))  # fmt: skip
    pod = node_pair.wait_pod(ns, "ready", lambda p: _ready(p) == "True", 20, "Ready")
    assert _status(pod, "c")["ready"] is True
    node_pair.exec(pod, "c", "rm", "/www/index.html")
    pod = node_pair.wait_pod(ns, "ready", lambda p: _ready(p) == "False", 10, "not Ready")
    assert _status(pod, "c")["ready"] is False and _status(pod, "c")["restartCount"] == 0
    node_pair.exec(pod, "c", "sh", "-c", "echo ok > /www/index.html")
    node_pair.wait_pod(ns, "ready", lambda p: _ready(p) == "True", 10, "Ready again")


def test_tcp_probe_and_startup_probe(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("tcp", node_pair.b.name, [{
        "name": "c",
        "command": ["sh", "-c", "sleep 1; exec httpd -f -p 7000"],
        "startupProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
        "readinessProbe": {"tcpSocket": {"port": 7000}, "periodSeconds": 1},
    }]))  # fmt: skip
    pod = node_pair.wait_pod(ns, "tcp", lambda p: _ready(p) == "True", 20, "Ready through tcpSocket")
    assert _status(pod, "c")["started"] is True


def test_graceful_deletion_honours_grace_period(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    # `sleep` as PID 1 ignores SIGTERM, so only the SIGKILL after the grace period stops it.
    node_pair.create_pod(ns, make_pod("slow", node_pair.a.name, [{"name": "c", "command": ["sleep", "3600"]}],
                                      terminationGracePeriodSeconds=3))  # fmt: skip
    node_pair.create_pod(
        ns,
        make_pod(
            "quick",
            node_pair.a.name,
            [{"name": "c", "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]}],
            terminationGracePeriodSeconds=30,
        ),
    )
    node_pair.wait_running(ns, "slow")
    node_pair.wait_running(ns, "quick")
    start = time.monotonic()
    assert node_pair.api.delete(f"/api/v1/namespaces/{ns}/pods/slow").status_code == 200
    assert node_pair.api.delete(f"/api/v1/namespaces/{ns}/pods/quick").status_code == 200
    wait_until(lambda: node_pair.get_pod(ns, "quick") is None, 10, 0.1, "quick pod gone")
    quick = time.monotonic() - start
    wait_until(lambda: node_pair.get_pod(ns, "slow") is None, 15, 0.1, "slow pod gone")
    slow = time.monotonic() - start
    assert quick < 2.5, quick  # exited on SIGTERM: no need to wait 30 s
    assert 2.8 <= slow < 8, slow  # killed after its 3 s grace period
    wait_until(lambda: not node_pair.containers(ns, "slow") and not node_pair.containers(ns, "quick"), 10,
               what="containers removed")  # fmt: skip
    assert "Killing" in {e["reason"] for e in node_pair.events(ns, "slow")}


def test_missing_image_with_never_gives_err_image_never_pull(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("noimg", node_pair.b.name, [
        {"name": "c", "image": "kubelite/does-not-exist:1", "imagePullPolicy": "Never"}]))  # fmt: skip
    pod = node_pair.wait_pod(ns, "noimg", lambda p: (_status(p, "c")["state"].get("waiting") or {}).get("reason")
                             == "ErrImageNeverPull", 20, "ErrImageNeverPull")  # fmt: skip
    assert pod["status"]["phase"] == "Pending"
    assert "ErrImageNeverPull" in {e["reason"] for e in node_pair.events(ns, "noimg")}


def test_restarted_kubelet_keeps_containers_running(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(
        ns, make_pod("keep", node_pair.b.name, [{"name": "c", "command": ["sleep", "3600"]}])
    )
    node_pair.create_pod(
        ns, make_pod("gone", node_pair.b.name, [{"name": "c", "command": ["sleep", "3600"]}])
    )
    before = node_pair.wait_running(ns, "keep")
    node_pair.wait_running(ns, "gone")
    cid = _status(before, "c")["containerID"]
    node_pair.b.stop()
    # While the kubelet is down, one of its pods is deleted for good: the restarted kubelet removes its containers.
    assert node_pair.api.delete(f"/api/v1/namespaces/{ns}/pods/gone?gracePeriodSeconds=0").status_code == 200
    assert node_pair.containers(ns, "gone")
    node_pair.b.start()
    after = node_pair.wait_running(ns, "keep")
    assert _status(after, "c")["containerID"] == cid and _status(after, "c")["restartCount"] == 0
    assert after["status"]["podIP"] == before["status"]["podIP"]
    wait_until(lambda: not node_pair.containers(ns, "gone"), 15, what="orphan containers removed")
    state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}} {{.RestartCount}}",
                            cid.removeprefix("docker://")], capture_output=True, text=True).stdout.split()  # fmt: skip
    assert state[0] == "true"


def test_failed_pull_gives_err_image_pull_then_back_off(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    # A registry on a closed loopback port: the pull fails at once and nothing leaves the machine.
    node_pair.create_pod(ns, make_pod("pull", node_pair.a.name, [
        {"name": "c", "image": "127.0.0.1:1/nothing:1", "imagePullPolicy": "IfNotPresent"}]))  # fmt: skip
    seen: set[str] = set()

    def reasons() -> bool:
        pod = node_pair.get_pod(ns, "pull") or {}
        waiting = (_status(pod, "c")["state"].get("waiting") or {}) if pod.get("status", {}).get(
            "containerStatuses") else {}  # fmt: skip
        if waiting.get("reason"):
            seen.add(waiting["reason"])
        return {"ErrImagePull", "ImagePullBackOff"} <= seen

    wait_until(reasons, 20, 0.1, "ErrImagePull then ImagePullBackOff")
    events = {e["reason"] for e in node_pair.events(ns, "pull")}
    assert {"Pulling", "Failed"} <= events
