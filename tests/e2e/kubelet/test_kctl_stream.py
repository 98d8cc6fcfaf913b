"""kctl exec, attach, cp and port-forward against kubelets on Docker, through the apiserver."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.binaries import INSTALL_HINT, KCTL
from tests.e2e.kubelet.helpers import NodePair, make_pod, start_web_pod, stop_collecting_stderr
from tests.harness import REPO

pytestmark = [pytest.mark.docker, pytest.mark.e2e]


@pytest.fixture(scope="module")
def pod(node_pair: NodePair) -> tuple[str, str]:
    return start_web_pod(node_pair, "kc"), "kc"


def kctl(node_pair: NodePair, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    if KCTL is None:
        pytest.skip(f"kctl is not installed ({INSTALL_HINT})")
    cmd = [str(KCTL), "--kubeconfig", str(node_pair.a.apiserver.admin_kubeconfig), *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=60, cwd=REPO)


def test_kctl_exec(node_pair: NodePair, pod: tuple[str, str]) -> None:
    ns, name = pod
    done = kctl(node_pair, "-n", ns, "exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 6")
    assert (done.returncode, done.stdout) == (6, b"out\n"), done.stderr
    assert b"err\n" in done.stderr and b"command terminated with exit code 6" in done.stderr
    data = os.urandom(100_000)
    piped = kctl(node_pair, "-n", ns, "exec", "-i", name, "--", "md5sum", stdin=data)
    assert piped.returncode == 0 and piped.stdout.split()[0].decode() == hashlib.md5(data).hexdigest()
    missing = kctl(node_pair, "-n", ns, "exec", name, "-c", "nope", "--", "true")
    assert missing.returncode == 1 and b"container nope is not valid for pod kc" in missing.stderr


def test_kctl_cp_both_ways(node_pair: NodePair, pod: tuple[str, str], tmp_path: Path) -> None:
    ns, name = pod
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(1_000_000))
    assert kctl(node_pair, "cp", str(src), f"{ns}/{name}:/tmp/f.bin").returncode == 0
    back = tmp_path / "back.bin"
    down = kctl(node_pair, "cp", f"{ns}/{name}:/tmp/f.bin", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == src.read_bytes()


def test_kctl_attach(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("att", node_pair.a.name, [{"name": "c", "stdin": True,
                         "command": ["sh", "-c", "read a; echo got:$a; exit 3"]}], restartPolicy="Never"))  # fmt: skip
    node_pair.wait_running(ns, "att")
    done = kctl(node_pair, "-n", ns, "attach", "-i", "att", stdin=b"x\n")
    assert b"got:x" in done.stdout and done.returncode == 3, done


def test_kctl_port_forward(node_pair: NodePair, pod: tuple[str, str]) -> None:
    if KCTL is None:
        pytest.skip(f"kctl is not installed ({INSTALL_HINT})")
    ns, name = pod
    proc = subprocess.Popen([str(KCTL), "--kubeconfig", str(node_pair.a.apiserver.admin_kubeconfig), "-n", ns,
                             "port-forward", f"pod/{name}", ":8080"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)  # fmt: skip
    try:
        assert proc.stdout is not None
        found = re.search(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080", proc.stdout.readline())
        assert found, proc.stderr.read() if proc.stderr and proc.poll() is not None else "no output"
        with httpx.Client(trust_env=False, timeout=15) as http:
            for _ in range(2):
                assert http.get(f"http://127.0.0.1:{found.group(1)}/index.html").text == "hello-from-pod\n"
    finally:
        stop_collecting_stderr(proc)
