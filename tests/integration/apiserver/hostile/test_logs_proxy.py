"""pods/{name}/log: the apiserver's request to a kubelet is built only from a node address that is an IP and a
port number, and goes straight there whatever proxy the apiserver's environment names.

Two local servers stand in for a kubelet (HTTPS, with a serving certificate of the test CA for its node's name, as
the apiserver checks) and for a proxy (plain HTTP, answering CONNECT too); both record what reaches them.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.harness import ApiServer
from tests.integration.apiserver.hostile.helpers import Hostile, assert_status
from tests.polling import wait_until


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        body = b"a log line\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_CONNECT = do_GET  # an HTTPS request through a proxy starts with CONNECT: record that too

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def recording_server(tls: ApiServer | None = None, node: str = "") -> Iterator[ThreadingHTTPServer]:
    """A recording server on loopback; with `tls`, HTTPS with a serving certificate of that apiserver's test CA
    for `node` (a kubelet's)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.paths = []  # type: ignore[attr-defined]
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = tls.pki.serving(node, ("127.0.0.1",))
        context.load_cert_chain(str(cert), str(key))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxied_apiserver(hostile: Hostile, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ApiServer, Any]]:
    """An apiserver (on the suite's etcd) whose environment sends HTTP through a recording "proxy"."""
    with recording_server() as proxy:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        server = ApiServer(hostile.etcd.url)
        try:
            with (
                monkeypatch.context() as env
            ):  # for the apiserver's process only, not for this test's clients
                # Upper case: what httpx honours (gRPC, the etcd client, reads the lower-case names only).
                for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
                    env.setenv(name, url)
                env.setenv("NO_PROXY", "")
                for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
                    env.delenv(name, raising=False)
                server.start(wait_ready=False)
            wait_until(server.ready, 30, what="ready")
            yield server, proxy
        finally:
            server.stop()
            server.log_path.unlink(missing_ok=True)


def _node(api: httpx.Client, name: str, port: int) -> None:
    r = api.post("/api/v1/nodes", json={"metadata": {"name": name}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}})  # fmt: skip
    assert r.status_code == 201, r.text


def _pod(api: httpx.Client, ns: str, node: str) -> None:
    body = {
        "metadata": {"name": "talker"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
    }
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=body).status_code == 201


def test_logs_go_to_the_kubelet_and_never_through_a_proxy(
    proxied_apiserver: tuple[ApiServer, Any], hostile: Hostile
) -> None:
    server, proxy = proxied_apiserver
    ns = hostile.namespace()
    node = f"logs-{uuid.uuid4().hex[:6]}"
    with recording_server(server, node) as kubelet, server.client(timeout=10) as api:
        _node(api, node, kubelet.server_address[1])
        _pod(api, ns, node)
        r = api.get(f"/api/v1/namespaces/{ns}/pods/talker/log", params={"tailLines": "5"})
        assert r.status_code == 200 and r.text == "a log line\n", r.text
        assert kubelet.paths == [f"/containerLogs/{ns}/talker/c?tailLines=5"]
    assert proxy.paths == []
    with server.client(timeout=5) as api:
        assert api.delete(f"/api/v1/nodes/{node}").status_code == 200


def test_a_node_address_that_is_not_an_ip_is_never_fetched(hostile: Hostile) -> None:
    """Written past the API (which refuses it): an address that would make the URL point elsewhere."""
    ns = hostile.namespace()
    with recording_server() as target:
        port = target.server_address[1]
        node = f"evil-{uuid.uuid4().hex[:6]}"
        for address in (f"127.0.0.1:{port}/steal?x=", f"127.0.0.1:{port}#", "localhost"):
            hostile.put_object(f"/registry/nodes/{node}", {
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
                "status": {"addresses": [{"type": "InternalIP", "address": address},
                                         {"type": "Hostname", "address": f"127.0.0.1:{port}"}],
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}})  # fmt: skip
            wait_until(
                lambda a=address: (
                    hostile.api.get(f"/api/v1/nodes/{node}").json()["status"]["addresses"][0]["address"] == a
                ),
                10,
                what="the raw node",
            )
            if hostile.api.get(f"/api/v1/namespaces/{ns}/pods/talker").status_code == 404:
                _pod(hostile.api, ns, node)
            r = hostile.api.get(f"/api/v1/namespaces/{ns}/pods/talker/log")
            assert_status(r, 500, "InternalError", contains="no valid IP address")
        assert target.paths == []
        hostile.delete_raw(f"/registry/nodes/{node}")
