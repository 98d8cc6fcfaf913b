"""kubectl port-forward through the apiserver (SPDY/3.1 tunnelled in WebSocket since kubectl 1.31) to a server
that listens on the pod's own loopback only, for a pod and for a service; then a local HTTP request through it."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.binaries import INSTALL_HINT, KUBECTL, KUBECTL_131
from tests.e2e.kubelet.helpers import NodePair, start_web_pod, stop_collecting_stderr
from tests.harness import REPO

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.kubectl]

FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")


@pytest.fixture(scope="module")
def web(node_pair: NodePair) -> tuple[str, str]:
    ns = start_web_pod(node_pair, "web", labels={"app": "web"})
    svc = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
           "ports": [{"port": 80, "targetPort": "http"}]}}  # fmt: skip
    assert node_pair.api.post(f"/api/v1/namespaces/{ns}/services", json=svc).status_code == 201
    return ns, "web"


def forward(kubectl: str, kubeconfig: Path, ns: str, target: str, remote: int) -> Iterator[int]:
    """Run `kubectl port-forward target :remote`; yield the local port once it says it is forwarding."""
    with tempfile.TemporaryDirectory() as cache:
        proc = subprocess.Popen([kubectl, "--cache-dir", cache, "--kubeconfig", str(kubeconfig), "-n", ns,
                                 "port-forward", target, f":{remote}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=REPO)  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # kubectl prints this line, or exits (then readline returns "")
            found = FORWARDING.search(line)
            if not found:
                raise AssertionError(f"kubectl port-forward: {line!r} {stop_collecting_stderr(proc)}")
            yield int(found.group(1))
        finally:
            stop_collecting_stderr(proc)


def get_through(port: int) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=15) as http:
        return http.get(f"http://127.0.0.1:{port}/index.html")


@pytest.mark.parametrize("target", ["pod/web", "svc/web"])
def test_kubectl_port_forward(node_pair: NodePair, web: tuple[str, str], target: str) -> None:
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT})")
    ns, _ = web
    remote = 8080 if target.startswith("pod") else 80
    for port in forward(KUBECTL, node_pair.a.apiserver.admin_kubeconfig, ns, target, remote):
        # Several requests, one connection each: every one is a new pair of SPDY streams in the same tunnel.
        for _ in range(3):
            reply = get_through(port)
            assert reply.status_code == 200 and reply.text == "hello-from-pod\n"


def test_kubectl_131_port_forward(node_pair: NodePair, web: tuple[str, str]) -> None:
    if KUBECTL_131 is None:
        pytest.skip(f"kubectl 1.31 is not installed ({INSTALL_HINT})")
    ns, _ = web
    for port in forward(KUBECTL_131, node_pair.a.apiserver.admin_kubeconfig, ns, "pod/web", 8080):
        assert get_through(port).text == "hello-from-pod\n"


def test_kubectl_port_forward_to_a_closed_port(node_pair: NodePair, web: tuple[str, str]) -> None:
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT})")
    ns, _ = web
    for port in forward(KUBECTL, node_pair.a.apiserver.admin_kubeconfig, ns, "pod/web", 9999):
        with pytest.raises(httpx.HTTPError):
            get_through(port)
