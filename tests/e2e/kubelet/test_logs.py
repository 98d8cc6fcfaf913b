"""Container logs: the kubelet's own API, and streamed through the apiserver by `kubectl logs -f` and `kctl logs -f`."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import time

import httpx
import pytest

from tests.binaries import INSTALL_HINT, KCTL, KUBECTL
from tests.e2e.kubelet.helpers import NodePair, make_pod
from tests.harness import REPO
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

TICKER = "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done"


def _ticker(node_pair: NodePair) -> str:
    ns = node_pair.namespace()
    node_pair.create_pod(
        ns, make_pod("ticker", node_pair.a.name, [{"name": "c", "command": ["sh", "-c", TICKER]}])
    )
    node_pair.wait_running(ns, "ticker")
    return ns


def _read_streamed(args: list[str], want: int, timeout: float = 15) -> list[str]:
    """Run a `logs -f` command; return its lines once `want` more arrived after the first one (proof of streaming)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    lines: list[str] = []
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    first_at: float | None = None
    try:
        while time.monotonic() < deadline:
            if not sel.select(timeout=0.5):
                if proc.poll() is not None:
                    break
                continue
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            first_at = first_at or time.monotonic()
            if len(lines) >= want and time.monotonic() - first_at > 0.5:
                return lines
    finally:
        proc.kill()
        _, stderr = proc.communicate(timeout=5)  # closes its pipes
        sel.close()
    raise AssertionError(f"streamed only {lines!r} (exit {proc.returncode}): {stderr}")


def test_kubelet_log_api(node_pair: NodePair) -> None:
    ns = _ticker(node_pair)
    kubelet = node_pair.a
    base = f"https://127.0.0.1:{kubelet.port}/containerLogs/{ns}/ticker/c"
    # As the apiserver calls it: its kubelet-client certificate, bound to system:kubelet-api-admin.
    http = httpx.Client(
        verify=kubelet.apiserver.pki.ssl_context("kube-apiserver-kubelet-client", ()), timeout=5
    )
    with http:
        wait_until(lambda: "line-3" in http.get(base).text, 10, what="log lines")
        tail = http.get(base, params={"tailLines": "2"}).text.splitlines()
        assert len(tail) == 2 and all(t.startswith("line-") for t in tail)
        stamped = http.get(base, params={"tailLines": "1", "timestamps": "true"}).text
        assert stamped[:4].isdigit() and "T" in stamped.split()[0] and stamped.split()[1].startswith("line-")
        with http.stream("GET", base, params={"follow": "true", "tailLines": "0"}, timeout=10) as resp:
            got = ""
            for chunk in resp.iter_text():
                got += chunk
                if got.count("\n") >= 3:
                    break
        assert got.startswith("line-")
        assert http.get(f"https://127.0.0.1:{kubelet.port}/containerLogs/{ns}/nope/c").status_code == 404
        metrics = http.get(f"https://127.0.0.1:{kubelet.port}/metrics").text
    assert "kubelet_pod_start_duration_seconds_count" in metrics
    assert "kubelet_docker_operations_duration_seconds_bucket" in metrics
    # The process-wide metrics too: the shared client's requests to the apiserver, the build.
    assert 'rest_client_requests_total{code="200",host="127.0.0.1:' in metrics
    assert 'kubernetes_build_info{build_date="' in metrics


def test_kubelet_api_refuses_anonymous_and_unauthorized_callers(node_pair: NodePair) -> None:
    ns = _ticker(node_pair)
    kubelet = node_pair.a
    url = f"https://127.0.0.1:{kubelet.port}/containerLogs/{ns}/ticker/c"
    anonymous = httpx.get(url, verify=kubelet.apiserver.ca_file, timeout=5)
    assert (anonymous.status_code, anonymous.text) == (401, "Unauthorized")
    assert (
        httpx.get(f"https://127.0.0.1:{kubelet.port}/pods", verify=kubelet.apiserver.ca_file).status_code
        == 401
    )
    # A user the CA vouches for but RBAC gives nothing on nodes/proxy: 403, from the kubelet's SubjectAccessReview.
    stranger = httpx.get(url, verify=kubelet.apiserver.pki.ssl_context("mallory", ()), timeout=5)
    assert stranger.status_code == 403
    assert stranger.text == "Forbidden (user=mallory, verb=get, resource=nodes, subresource=proxy)"
    # Another node's kubelet is no better.
    other = kubelet.apiserver.pki.ssl_context(f"system:node:{node_pair.b.name}", ("system:nodes",))
    assert httpx.get(url, verify=other, timeout=5).status_code == 403
    # A bearer token is checked through a TokenReview: a made-up one is refused.
    bad = httpx.get(
        url, verify=kubelet.apiserver.ca_file, headers={"Authorization": "Bearer a.b.c"}, timeout=5
    )
    assert bad.status_code == 401
    # Liveness needs no credentials and says nothing else.
    assert (
        httpx.get(f"https://127.0.0.1:{kubelet.port}/healthz", verify=kubelet.apiserver.ca_file).text == "ok"
    )


def test_previous_log_of_a_crashed_container(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("prev", node_pair.a.name, [{"name": "c", "command": ["sh", "-c",
                         "echo run-$(date +%s%N); exit 1"]}]))  # fmt: skip
    node_pair.wait_pod(ns, "prev", lambda p: p["status"]["containerStatuses"][0]["restartCount"] >= 1, 20)
    r = node_pair.api.get(f"/api/v1/namespaces/{ns}/pods/prev/log", params={"previous": "true"})
    assert r.status_code == 200 and r.text.startswith("run-"), r.text


@pytest.mark.kubectl
def test_kubectl_logs_follow_streams(node_pair: NodePair) -> None:
    kubectl = KUBECTL
    if kubectl is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT})")
    ns = _ticker(node_pair)
    cache = tempfile.mkdtemp(prefix="kubelite-kubectl-cache-")
    try:
        lines = _read_streamed([kubectl, "--cache-dir", cache, "--kubeconfig", str(node_pair.a.apiserver.admin_kubeconfig),
                                "-n", ns, "logs", "-f", "ticker"], want=8)  # fmt: skip
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    numbers = [int(line.removeprefix("line-")) for line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_kctl_logs_follow_streams(node_pair: NodePair) -> None:
    kctl = KCTL
    if kctl is None:
        pytest.skip(f"kctl is not installed ({INSTALL_HINT})")
    ns = _ticker(node_pair)
    lines = _read_streamed([str(kctl), "--kubeconfig", str(node_pair.a.apiserver.admin_kubeconfig), "-n", ns, "logs", "-f",
                            "ticker", "--tail", "2"], want=6)  # fmt: skip
    numbers = [int(line.removeprefix("line-")) for line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
