"""exec, attach and cp through the apiserver to the kubelet and Docker, with the real kubectl (1.32, WebSocket
v5) and the official Python client (v4): output, exit codes, stdin, tty, files both ways, and the refusals."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.binaries import INSTALL_HINT, KUBECTL, KUBECTL_131
from tests.e2e.kubelet.conftest import NodePair, make_pod
from tests.harness import REPO, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e]


@pytest.fixture(scope="module")
def shell_pod(node_pair: NodePair) -> tuple[str, str]:
    """A running pod `sh` with one container `c` (stdin open, for attach) in a namespace of its own."""
    ns = node_pair.namespace()
    node_pair.create_pod(
        ns, make_pod("sh", node_pair.a.name, [{"name": "c", "command": ["sleep", "3600"]}])
    )
    node_pair.wait_running(ns, "sh")
    return ns, "sh"


@pytest.fixture
def kubectl_cmd(node_pair: NodePair) -> Iterator[list[str]]:
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT})")
    cache = tempfile.mkdtemp(prefix="kubelite-kubectl-cache-")
    yield [KUBECTL, "--cache-dir", cache, "--kubeconfig", str(node_pair.a.apiserver.admin_kubeconfig)]
    subprocess.run(["rm", "-rf", cache], check=False)


def run(args: list[str], *, stdin: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
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
