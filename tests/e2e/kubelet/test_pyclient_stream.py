"""The official Python client's streaming API against kubelite: `stream(connect_get_namespaced_pod_exec, ...)`
with its exit code (`returncode`) and stdin, and `portforward(...)` to a server inside the pod's network namespace."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.stream import portforward, stream, ws_client

from tests.e2e.kubelet.helpers import NodePair, start_web_pod
from tests.polling import wait_until
from tests.sockets import exchange

pytestmark = [pytest.mark.docker, pytest.mark.e2e]


@pytest.fixture(scope="module")
def web(node_pair: NodePair) -> tuple[str, str]:
    return start_web_pod(node_pair, "web"), "web"


@pytest.fixture
def core(node_pair: NodePair) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(node_pair.a.apiserver.admin_kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


def test_exec_returncode_and_output(core: client.CoreV1Api, web: tuple[str, str]) -> None:
    ns, pod = web
    resp = stream(core.connect_get_namespaced_pod_exec, pod, ns, command=["sh", "-c", "echo hi; echo oops >&2; exit 9"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)  # fmt: skip
    resp.run_forever(timeout=20)
    assert resp.read_stdout() == "hi\n"
    assert resp.read_stderr() == "oops\n"
    assert resp.returncode == 9
    ok = stream(core.connect_get_namespaced_pod_exec, pod, ns, command=["true"], stderr=True, stdin=False,
                stdout=True, tty=False, _preload_content=False)  # fmt: skip
    ok.run_forever(timeout=20)
    assert ok.returncode == 0
    _close_exec(resp)  # here rather than by the collector (a leaked socket fails a later test)
    _close_exec(ok)


@pytest.fixture
def opened_streams(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every exec websocket the client opens during the test, closed at the end: with _preload_content=True the client
    reads the stream to its end and returns the text without ever closing the websocket (ws_client.websocket_call)."""
    opened: list[Any] = []

    class Tracked(ws_client.WSClient):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(ws_client, "WSClient", Tracked)
    yield opened
    for resp in opened:
        _close_exec(resp)


def test_exec_preloaded_and_stdin(
    core: client.CoreV1Api, web: tuple[str, str], opened_streams: list[Any]
) -> None:
    ns, pod = web
    text = stream(core.connect_get_namespaced_pod_exec, pod, ns, command=["cat", "/etc/hostname"],
                  stderr=True, stdin=False, stdout=True, tty=False)  # fmt: skip
    assert text.strip() == pod
    resp = stream(core.connect_get_namespaced_pod_exec, pod, ns, command=["sh", "-c", "read x; echo got-$x"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)  # fmt: skip
    resp.write_stdin("abc\n")
    deadline = time.monotonic() + 20
    out = ""
    while resp.is_open() and time.monotonic() < deadline:
        resp.update(timeout=1)
        out += resp.read_stdout() if resp.peek_stdout() else ""
    out += resp.read_stdout() if resp.peek_stdout() else ""  # what came with the last update
    assert out == "got-abc\n"
    assert resp.returncode == 0
    assert len(opened_streams) == 2  # the preloaded one and this one, both closed by the fixture


def test_portforward_raw_socket(core: client.CoreV1Api, web: tuple[str, str]) -> None:
    ns, pod = web
    pf = portforward(core.connect_get_namespaced_pod_portforward, pod, ns, ports="8080")
    reply = exchange(pf.socket(8080), b"GET /index.html HTTP/1.0\r\nHost: web\r\n\r\n", 20)
    assert reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n")[0], reply[:200]
    assert reply.endswith(b"hello-from-pod\n")
    assert pf.error(8080) is None
    _close(pf)


def test_portforward_refused_port_reports_error(core: client.CoreV1Api, web: tuple[str, str]) -> None:
    ns, pod = web
    pf = portforward(core.connect_get_namespaced_pod_portforward, pod, ns, ports="8081")
    sock = pf.socket(8081)
    sock.settimeout(20)
    with contextlib.suppress(OSError):  # the client closes its end when the error arrives: EOF or a reset
        assert sock.recv(10) == b""
    deadline = time.monotonic() + 10
    while pf.error(8081) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "8081" in (pf.error(8081) or ""), pf.error(8081)
    assert "refused" in (pf.error(8081) or "").lower()
    _close(pf)


def _close_exec(resp: Any) -> None:
    """Close an exec stream's websocket and its socket (websocket-client's close() skips the socket once the server
    has closed the stream)."""
    resp.close()
    resp.sock.shutdown()


def _close(pf: Any) -> None:
    """Close a port-forward for good: its local sockets, then (once the client's proxy thread has ended) the
    websocket's own socket, which websocket-client's close() skips once it no longer counts it as connected."""
    pf.close()
    wait_until(lambda: not any(t.name.startswith("Kubernetes port forward proxy") for t in threading.enumerate()),
               10, what="the port-forward proxy thread to end")  # fmt: skip
    pf.websocket.shutdown()
