"""exec, attach and cp through the apiserver to the kubelet and Docker, with the real kubectl (1.32, WebSocket
v5) and the official Python client (v4): output, exit codes, stdin, tty, files both ways, and the refusals."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.binaries import INSTALL_HINT, KUBECTL, KUBECTL_131
from tests.e2e.kubelet.helpers import NodePair, make_pod
from tests.harness import REPO
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e]


@pytest.fixture(scope="module")
def shell_pod(node_pair: NodePair) -> tuple[str, str]:
    """A running pod `sh` with one container `c` (stdin open, for attach) in a namespace of its own."""
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("sh", node_pair.a.name, [{"name": "c", "command": ["sleep", "3600"]}]))
    node_pair.wait_running(ns, "sh")
    return ns, "sh"


@pytest.fixture
def kubectl_cmd(node_pair: NodePair) -> Iterator[list[str]]:
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT})")
    cache = tempfile.mkdtemp(prefix="kubelite-kubectl-cache-")
    yield [KUBECTL, "--cache-dir", cache, "--kubeconfig", str(node_pair.a.apiserver.admin_kubeconfig)]
    subprocess.run(["rm", "-rf", cache], check=False)


def run(
    args: list[str], *, stdin: bytes | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, cwd=REPO)


@pytest.mark.kubectl
def test_kubectl_exec_output_and_exit_code(kubectl_cmd: list[str], shell_pod: tuple[str, str]) -> None:
    ns, pod = shell_pod
    done = run([*kubectl_cmd, "-n", ns, "exec", pod, "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
    assert done.stdout == b"out\n", done.stderr
    assert b"err\n" in done.stderr
    assert done.returncode == 3, done.stderr
    ok = run([*kubectl_cmd, "-n", ns, "exec", pod, "-c", "c", "--", "cat", "/etc/hostname"])
    assert ok.returncode == 0 and ok.stdout.strip() == pod.encode(), ok.stderr


@pytest.mark.kubectl
def test_kubectl_exec_stdin(kubectl_cmd: list[str], shell_pod: tuple[str, str]) -> None:
    ns, pod = shell_pod
    data = os.urandom(300_000)
    done = run([*kubectl_cmd, "-n", ns, "exec", "-i", pod, "--", "sh", "-c", "cat | md5sum"], stdin=data)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0].decode() == hashlib.md5(data).hexdigest()


@pytest.mark.kubectl
def test_kubectl_exec_tty(kubectl_cmd: list[str], shell_pod: tuple[str, str]) -> None:
    ns, pod = shell_pod
    # kubectl asks for a tty only when its own stdin is a terminal; `script` gives it one.
    line = " ".join(
        [*kubectl_cmd, "-n", ns, "exec", "-it", pod, "--", "sh", "-c", "'tty; stty size; exit 4'"]
    )
    done = run(["script", "-qec", line, "/dev/null"], stdin=b"")
    assert done.returncode == 4, done.stdout
    assert b"/dev/pts/" in done.stdout, done.stdout


@pytest.mark.kubectl
def test_kubectl_cp_both_ways(kubectl_cmd: list[str], shell_pod: tuple[str, str], tmp_path: Path) -> None:
    ns, pod = shell_pod
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(3_000_000))
    up = run([*kubectl_cmd, "cp", str(src), f"{ns}/{pod}:/tmp/up.bin"])
    assert up.returncode == 0, up.stderr
    check = run([*kubectl_cmd, "-n", ns, "exec", pod, "--", "md5sum", "/tmp/up.bin"])
    assert check.stdout.split()[0].decode() == hashlib.md5(src.read_bytes()).hexdigest()
    back = tmp_path / "down.bin"
    down = run([*kubectl_cmd, "cp", f"{ns}/{pod}:/tmp/up.bin", str(back)])
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == src.read_bytes()


@pytest.mark.kubectl
def test_kubectl_exec_refusals(
    kubectl_cmd: list[str], node_pair: NodePair, shell_pod: tuple[str, str]
) -> None:
    ns, pod = shell_pod
    missing = run([*kubectl_cmd, "-n", ns, "exec", pod, "-c", "nope", "--", "true"])
    assert missing.returncode == 1
    assert b"container nope is not valid for pod sh" in missing.stderr, missing.stderr
    no_pod = run([*kubectl_cmd, "-n", ns, "exec", "ghost", "--", "true"])
    assert no_pod.returncode == 1 and b'pods "ghost" not found' in no_pod.stderr, no_pod.stderr
    nosuch = run([*kubectl_cmd, "-n", ns, "exec", pod, "--", "no-such-command"])
    assert nosuch.returncode == 126, nosuch.stderr
    assert b'exec: "no-such-command": executable file not found' in nosuch.stdout + nosuch.stderr
    # A pod whose container has exited.
    node_pair.create_pod(ns, make_pod("done", node_pair.a.name, [{"name": "c", "command": ["true"]}],
                                      restartPolicy="Never"))  # fmt: skip
    node_pair.wait_pod(
        ns, "done", lambda p: p["status"].get("phase") == "Succeeded", what="pod done Succeeded"
    )
    stopped = run([*kubectl_cmd, "-n", ns, "exec", "done", "--", "true"])
    assert stopped.returncode == 1
    assert b"cannot exec into a container in a completed pod; current phase is Succeeded" in stopped.stderr


@pytest.mark.kubectl
def test_kubectl_131_exec(node_pair: NodePair, shell_pod: tuple[str, str]) -> None:
    if KUBECTL_131 is None:
        pytest.skip(f"kubectl 1.31 is not installed ({INSTALL_HINT})")
    ns, pod = shell_pod
    with tempfile.TemporaryDirectory() as cache:
        kubectl = [
            KUBECTL_131,
            "--cache-dir",
            cache,
            "--kubeconfig",
            str(node_pair.a.apiserver.admin_kubeconfig),
        ]
        done = run([*kubectl, "-n", ns, "exec", "-i", pod, "--", "sh", "-c", "cat; exit 5"], stdin=b"hello")
    assert (done.returncode, done.stdout) == (5, b"hello"), done.stderr


@pytest.mark.kubectl
def test_kubectl_attach(kubectl_cmd: list[str], node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    script = "read a; echo got:$a; read b; echo got:$b >&2; exit 7"
    node_pair.create_pod(ns, make_pod("reader", node_pair.a.name, [{"name": "c", "stdin": True,
                         "command": ["sh", "-c", script]}], restartPolicy="Never"))  # fmt: skip
    node_pair.wait_running(ns, "reader")
    done = run([*kubectl_cmd, "-n", ns, "attach", "-i", "reader"], stdin=b"one\ntwo\n")
    assert b"got:one\n" in done.stdout, done
    assert b"got:two\n" in done.stderr, done
    assert done.returncode == 7, done.stderr


def _sessions_open(node_pair: NodePair) -> tuple[float, float]:
    """(exec sessions the kubelet holds, exec streams the apiserver relays), from their /metrics."""
    kubelet = node_pair.a
    ctx = kubelet.apiserver.pki.ssl_context("kube-apiserver-kubelet-client", ())
    kubelet_text = httpx.get(f"https://127.0.0.1:{kubelet.port}/metrics", verify=ctx, timeout=5).text
    api_text = node_pair.api.get("/metrics").text
    return _sample(kubelet_text, 'kubelet_streaming_sessions_open{kind="exec"}'), _sample(
        api_text, 'apiserver_pod_streams_open{subresource="exec"}'
    )


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.kubectl
def test_client_dropping_mid_stream_leaves_nothing_behind(
    kubectl_cmd: list[str], node_pair: NodePair, shell_pod: tuple[str, str]
) -> None:
    ns, pod = shell_pod
    marker = "4242"
    proc = subprocess.Popen([*kubectl_cmd, "-n", ns, "exec", "-i", pod, "--", "sleep", marker],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    found = node_pair.get_pod(ns, pod)
    assert found is not None

    def sleeping() -> bool:
        return f"sleep {marker}" in node_pair.exec(found, "c", "ps").stdout

    try:
        wait_until(sleeping, 15, what="the exec'd process to run")
        assert _sessions_open(node_pair)[0] >= 1
    finally:
        proc.kill()  # the client vanishes: no close frame, no stdin end, the TCP connection just goes
        proc.communicate(timeout=5)
    wait_until(lambda: not sleeping(), 15, what="the kubelet to kill the orphaned exec")
    wait_until(lambda: _sessions_open(node_pair) == (0.0, 0.0), 15, what="every exec session to close")


@pytest.mark.kubectl
def test_exec_needs_create_on_pods_exec(
    kubectl_cmd: list[str], node_pair: NodePair, shell_pod: tuple[str, str]
) -> None:
    ns, pod = shell_pod
    api = node_pair.api
    role = {"metadata": {"name": "viewer"}, "rules": [{"apiGroups": [""], "resources": ["pods"],
            "verbs": ["get", "list"]}]}  # fmt: skip
    binding = {"metadata": {"name": "viewer"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
               "name": "viewer"}, "subjects": [{"kind": "User", "name": "viewer-only",
               "apiGroup": "rbac.authorization.k8s.io"}]}  # fmt: skip
    for kind, body in (("roles", role), ("rolebindings", binding)):
        r = api.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/{kind}", json=body)
        assert r.status_code == 201, r.text
    kubeconfig = node_pair.a.apiserver.kubeconfig_for("viewer-only")
    as_viewer = [kubectl_cmd[0], "--cache-dir", kubectl_cmd[2], "--kubeconfig", str(kubeconfig)]
    # The role works for what it allows ...
    wait_until(
        lambda: run([*as_viewer, "-n", ns, "get", "pod", pod]).returncode == 0, 10, what="RBAC to apply"
    )
    # ... and not for exec, by WebSocket (kubectl 1.32) or any other way.
    denied = run([*as_viewer, "-n", ns, "exec", pod, "--", "true"])
    assert denied.returncode == 1
    assert b'User "viewer-only" cannot create resource "pods/exec"' in denied.stderr, denied.stderr
    plain = api.post(f"/api/v1/namespaces/{ns}/pods/{pod}/exec", params={"command": "true", "stdout": "true"})
    assert plain.status_code == 400 and "Upgrade request required" in plain.text
    # With create on pods/exec it goes through.
    rules = [*role["rules"], {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]  # type: ignore[misc]
    r = api.patch(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/viewer", json={"rules": rules},
                  headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert r.status_code == 200, r.text
    wait_until(lambda: run([*as_viewer, "-n", ns, "exec", pod, "--", "true"]).returncode == 0, 10,
               what="exec once allowed")  # fmt: skip
