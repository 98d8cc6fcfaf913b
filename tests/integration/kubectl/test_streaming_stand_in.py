"""The real kubectl (1.32 and 1.31) and the Python client through the real apiserver to the kubelet's streaming
code, without Docker: a stand-in node serves the kubelet's /portForward endpoint (kubelet.portforward's SPDY and
channel forwarders, pointed at this process's own network namespace, in front of an HTTP server on 127.0.0.1) and
its /exec endpoint (kubelet.streaming.relay joined to a local process instead of a Docker exec stream). The whole
path with real pods on Docker is tests/e2e/kubelet/test_exec.py and test_port_forward.py."""

from __future__ import annotations

import asyncio
import http.server
import os
import re
import subprocess
import threading
import uuid
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from apimachinery import channels
from apimachinery.tlsserve import ClientCertWebSocketProtocol, server_ssl_context
from kubelet.portforward import SpdyForwarder, forward_channels
from kubelet.runtime.hijack import RawStream
from kubelet.streaming import finish, relay
from tests.binaries import INSTALL_HINT, KCTL, KUBECTL_131
from tests.harness import ApiServer, free_port
from tests.integration.kubectl.kube import MARKS, Kubectl
from tests.polling import wait_until
from tests.sockets import exchange

pytestmark = MARKS
BODY = b"through-the-tunnel\n"
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def target_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stand_in_node(apiserver: ApiServer) -> Iterator[str]:
    """A Node whose kubelet endpoint is a server with only the kubelet's port-forward (host namespace)."""
    name = f"pf-{uuid.uuid4().hex[:6]}"

    async def port_forward(ws: WebSocket) -> None:
        protocol = channels.negotiate(ws.scope.get("subprotocols") or [], channels.PORT_FORWARD_PROTOCOLS)
        assert protocol is not None
        await ws.accept(subprotocol=protocol)
        if protocol == channels.SPDY_TUNNEL_PORT_FORWARD:
            await SpdyForwarder(ws, "/proc/self/ns/net").run()
        else:
            ports = [int(p) for p in ws.query_params.getlist("port")]
            await forward_channels(ws, channels.Framing(protocol), "/proc/self/ns/net", ports)
            await ws.close()

    async def exec_here(ws: WebSocket) -> None:
        protocol = channels.negotiate(ws.scope.get("subprotocols") or [], channels.EXEC_PROTOCOLS)
        assert protocol is not None
        command = ws.query_params.getlist("command")
        assert command[0] in ("cat", "sh")  # what these tests run; nothing else
        proc = await asyncio.create_subprocess_exec(*command, stdin=PIPE, stdout=PIPE, stderr=STDOUT)
        assert proc.stdin is not None and proc.stdout is not None
        await ws.accept(subprotocol=protocol)
        framing = channels.Framing(protocol)

        async def resize(width: int, height: int) -> None:
            return None

        ended = await relay(ws, framing, RawStream(proc.stdout, proc.stdin, multiplexed=False), resize)
        if not ended:
            proc.kill()
        code = await proc.wait()
        if ended:
            await finish(ws, framing, channels.exit_status(code), code)

    cert, key = apiserver.pki.serving(name)
    port = free_port()
    tls = server_ssl_context(str(cert), str(key), apiserver.ca_file)
    config = uvicorn.Config(
        Starlette(routes=[WebSocketRoute("/portForward/{namespace}/{pod}", port_forward),
                          WebSocketRoute("/exec/{namespace}/{pod}/{container}", exec_here)]),
        host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws=ClientCertWebSocketProtocol,
        ssl_context_factory=lambda _c, _d: tls,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, what="the stand-in kubelet")
    with apiserver.client() as api:
        node = {"metadata": {"name": name}}
        assert api.post("/api/v1/nodes", json=node).status_code == 201
        status = {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                  "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}  # fmt: skip
        r = api.patch(f"/api/v1/nodes/{name}/status", json={"status": status},
                      headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
        assert r.status_code == 200, r.text
        try:
            yield name
        finally:
            api.delete(f"/api/v1/nodes/{name}")
            server.should_exit = True
            thread.join(10)


@pytest.fixture
def running_pod(apiserver: ApiServer, kubectl: Kubectl, stand_in_node: str) -> str:
    ns = kubectl.namespace
    assert ns is not None
    with apiserver.client() as api:
        pod = {"metadata": {"name": "web"}, "spec": {"nodeName": stand_in_node,
               "containers": [{"name": "c", "image": "busybox"}]}}  # fmt: skip
        assert api.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
        r = api.patch(f"/api/v1/namespaces/{ns}/pods/web/status", json={"status": {"phase": "Running"}},
                      headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
        assert r.status_code == 200, r.text
    return ns


def test_python_client_portforward_through_the_apiserver(
    apiserver: ApiServer, running_pod: str, target_server: int
) -> None:
    from kubernetes import client, config
    from kubernetes.stream import portforward

    api_client = config.new_client_from_config(config_file=str(apiserver.admin_kubeconfig))
    try:
        core = client.CoreV1Api(api_client)
        pf = portforward(
            core.connect_get_namespaced_pod_portforward, "web", running_pod, ports=str(target_server)
        )
        reply = exchange(pf.socket(target_server), b"GET / HTTP/1.0\r\n\r\n", 10)
        # The client's proxy thread ends once the local socket is closed, leaving its websocket's socket open
        # (websocket-client's close() skips a socket it no longer counts as connected): close it here.
        wait_until(lambda: not any(t.name.startswith("Kubernetes port forward proxy") for t in threading.enumerate()),
                   10, what="the port-forward proxy thread to end")  # fmt: skip
        pf.websocket.shutdown()
    finally:
        api_client.close()
    assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(BODY)


@pytest.mark.parametrize("version", ["1.32", "1.31"])
def test_kubectl_port_forward_speaks_spdy_through_the_apiserver(
    kubectl: Kubectl, running_pod: str, target_server: int, version: str
) -> None:
    argv = kubectl.argv("port-forward", "pod/web", f":{target_server}")
    if version == "1.31":
        if KUBECTL_131 is None:
            pytest.skip(f"kubectl 1.31 is not installed ({INSTALL_HINT})")
        argv[0] = KUBECTL_131
    proc = subprocess.Popen(argv, env=kubectl.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    with proc:  # closes its pipes
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = FORWARDING.search(line)
            if not found:
                proc.kill()
                raise AssertionError(f"{line!r} {proc.stderr.read() if proc.stderr else ''}")
            with httpx.Client(trust_env=False, timeout=10) as http:
                for _ in range(3):  # a connection each: new SPDY streams in the same tunnel
                    reply = http.get(f"http://127.0.0.1:{found.group(1)}/")
                    assert (reply.status_code, reply.content) == (200, BODY)
                big = [http.get(f"http://127.0.0.1:{found.group(1)}/") for _ in range(5)]
            assert all(r.content == BODY for r in big)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.mark.parametrize("version", ["1.32", "1.31"])
def test_kubectl_exec_stdin_close_and_exit_code(kubectl: Kubectl, running_pod: str, version: str) -> None:
    binary = KUBECTL_131 if version == "1.31" else None
    if version == "1.31" and binary is None:
        pytest.skip(f"kubectl 1.31 is not installed ({INSTALL_HINT})")
    data = os.urandom(2_000_000)
    argv = kubectl.argv("exec", "-i", "web", "--", "cat")
    argv[0] = binary or argv[0]
    done = subprocess.run(argv, input=data, capture_output=True, env=kubectl.env(), timeout=30)
    # Everything comes back, and cat ends: stdin's end reached it (v5's close signal; 1.31 speaks v5 too).
    assert done.returncode == 0, done.stderr
    assert done.stdout == data
    argv = kubectl.argv("exec", "web", "--", "sh", "-c", "exit 7")
    argv[0] = binary or argv[0]
    failed = subprocess.run(argv, capture_output=True, env=kubectl.env(), timeout=30)
    assert failed.returncode == 7, failed.stderr


def test_exec_and_port_forward_need_create_on_their_subresources(
    apiserver: ApiServer, kubectl: Kubectl, running_pod: str
) -> None:
    ns = running_pod
    with apiserver.client() as api:
        role = {"metadata": {"name": "viewer"}, "rules": [{"apiGroups": [""], "resources": ["pods"],
                "verbs": ["get", "list"]}]}  # fmt: skip
        binding = {"metadata": {"name": "viewer"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                   "kind": "Role", "name": "viewer"}, "subjects": [{"kind": "User", "name": "pod-viewer",
                   "apiGroup": "rbac.authorization.k8s.io"}]}  # fmt: skip
        for kind, body in (("roles", role), ("rolebindings", binding)):
            r = api.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/{kind}", json=body)
            assert r.status_code == 201, r.text
        viewer = replace(kubectl, kubeconfig=apiserver.kubeconfig_for("pod-viewer"))

        def run(*args: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(viewer.argv(*args), capture_output=True, env=viewer.env(), timeout=30)

        wait_until(lambda: run("get", "pod", "web").returncode == 0, 10, what="the role to apply")
        denied = run("exec", "web", "--", "sh", "-c", "exit 0")
        assert denied.returncode == 1
        assert b'User "pod-viewer" cannot create resource "pods/exec" in API group ""' in denied.stderr, (
            denied
        )
        forward = run("port-forward", "pod/web", ":80")
        assert forward.returncode == 1 and b'cannot create resource "pods/portforward"' in forward.stderr, (
            forward
        )
        rules = [*role["rules"], {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]  # type: ignore[misc]
        r = api.patch(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/viewer", json={"rules": rules},
                      headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
        assert r.status_code == 200, r.text
        wait_until(lambda: run("exec", "web", "--", "sh", "-c", "exit 0").returncode == 0, 10,
                   what="exec once create on pods/exec is granted")  # fmt: skip


def test_kctl_exec_through_the_apiserver(apiserver: ApiServer, running_pod: str) -> None:
    if KCTL is None:
        pytest.skip(f"kctl is not installed ({INSTALL_HINT})")
    kctl = [str(KCTL), "--kubeconfig", str(apiserver.admin_kubeconfig), "-n", running_pod, "exec"]
    data = os.urandom(500_000)
    echoed = subprocess.run([*kctl, "-i", "web", "-c", "c", "--", "cat"], input=data, capture_output=True,
                            timeout=30)  # fmt: skip
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout == data
    failed = subprocess.run(
        [*kctl, "web", "--", "sh", "-c", "echo out; exit 6"], capture_output=True, timeout=30
    )
    assert (failed.returncode, failed.stdout) == (6, b"out\n"), failed.stderr
    assert b"command terminated with exit code 6" in failed.stderr
    wrong = subprocess.run([*kctl, "web", "-c", "nope", "--", "true"], capture_output=True, timeout=30)
    assert wrong.returncode == 1 and b"container nope is not valid for pod web" in wrong.stderr, wrong.stderr
