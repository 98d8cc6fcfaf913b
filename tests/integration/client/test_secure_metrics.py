"""The components' secure /metrics port (apimachinery/secureserving.py): HTTPS, callers authenticated by a
TokenReview or the cluster CA and authorized by a SubjectAccessReview on the nonResourceURL /metrics, asked of a
real apiserver through the component's own identity; and the refusal to serve plain HTTP beyond loopback."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from apimachinery.client import Client
from apimachinery.component import InsecureBindError, serve_health
from apimachinery.delegated import DelegatedAuth
from apimachinery.tlsserve import server_ssl_context
from tests.harness import (
    REPO,
    SCHEDULER,
    ApiServer,
    forbidden_lines,
    free_port,
    netpol_identity,
    start_component,
    stop_process,
)
from tests.harness import test_pki as pki_of_run
from tests.polling import wait_until

KUBE_PROXY = ("system:kube-proxy", ())


def sa_token(api: httpx.Client, ns: str, name: str) -> str:
    r = api.post(f"/api/v1/namespaces/{ns}/serviceaccounts", json={"metadata": {"name": name}})
    assert r.status_code == 201, r.text
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 600},
    }
    r = api.post(f"/api/v1/namespaces/{ns}/serviceaccounts/{name}/token", json=request)
    assert r.status_code == 201, r.text
    return str(r.json()["status"]["token"])


@pytest.fixture
def tokens(api: httpx.Client, ns: str) -> Iterator[tuple[str, str]]:
    """(a token of an account bound to system:monitoring, a token of an account bound to nothing)."""
    reader, stranger = sa_token(api, ns, "reader"), sa_token(api, ns, "stranger")
    binding = f"test-monitoring-{uuid.uuid4().hex[:8]}"
    r = api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        json={
            "metadata": {"name": binding},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:monitoring",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}],
        },
    )
    assert r.status_code == 201, r.text
    yield reader, stranger
    api.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}")


def ca_context(apiserver: ApiServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=apiserver.ca_file)


async def check_secure_port(apiserver: ApiServer, port: int, reader: str, stranger: str) -> None:
    url = f"https://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, verify=ca_context(apiserver), timeout=10) as anonymous:
        r = await anonymous.get("/healthz")
        assert (r.status_code, r.text) == (
            200,
            "ok",
        )  # health stays anonymous, as upstream's always-allow paths
        assert (await anonymous.get("/metrics")).status_code == 401
        r = await anonymous.get("/metrics", headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
        r = await anonymous.get("/metrics", headers={"Authorization": f"Bearer {stranger}"})
        assert r.status_code == 403, r.text
        assert "path=/metrics" in r.text
        r = await anonymous.get("/metrics", headers={"Authorization": f"Bearer {reader}"})
        assert r.status_code == 200, r.text
        assert "kubernetes_build_info" in r.text
    # A client certificate from the cluster CA: the admin (system:masters) may; a user with no role may not.
    async with httpx.AsyncClient(base_url=url, verify=apiserver.ssl_context(), timeout=10) as admin:
        assert (await admin.get("/metrics")).status_code == 200
    nobody = apiserver.ssl_context("nobody", ())
    async with httpx.AsyncClient(base_url=url, verify=nobody, timeout=10) as http:
        assert (await http.get("/metrics")).status_code == 403
    # Plain HTTP on the TLS port gets nothing.
    with pytest.raises(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=5) as plain:
            await plain.get(f"http://127.0.0.1:{port}/metrics")


@pytest.mark.parametrize(
    "identity", [KUBE_PROXY, netpol_identity("node-x")], ids=["kube-proxy", "kube-netpol"]
)
async def test_secure_port_as_each_agent_identity(
    apiserver: ApiServer, tokens: tuple[str, str], identity: tuple[str, tuple[str, ...]]
) -> None:
    """serve_health with TLS and DelegatedAuth, asking the apiserver as the agents' own identities (their roles
    must allow the reviews)."""
    cert, key = pki_of_run().serving("metrics-test")
    registry = CollectorRegistry()
    Counter("kubelite_test_secure", "things", registry=registry).inc()
    client = Client(apiserver.config(*identity))
    tls = server_ssl_context(str(cert), str(key), apiserver.ca_file)
    server = await serve_health("127.0.0.1", 0, None, registry, tls=tls, auth=DelegatedAuth(client))
    try:
        await check_secure_port(apiserver, server.sockets[0].getsockname()[1], *tokens)
    finally:
        server.close()
        await client.aclose()


async def test_scheduler_serves_metrics_on_its_secure_port(
    apiserver: ApiServer, tokens: tuple[str, str]
) -> None:
    """The real kube-scheduler with --secure-port: the flags, the HTTPS server, its own identity's reviews."""
    cert, key = pki_of_run().serving("kube-scheduler")
    plain, secure = free_port(), free_port()
    proc, log = start_component(
        ["scheduler", *apiserver.component_args(*SCHEDULER), "--port", str(plain),
         "--secure-port", str(secure), "--secure-bind-address", "127.0.0.1", "--tls-cert-file", str(cert),
         "--tls-private-key-file", str(key), "--client-ca-file", apiserver.ca_file],
        "scheduler-secure",
    )  # fmt: skip
    try:

        def up() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{plain}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        await asyncio.to_thread(wait_until, up, timeout=30, interval=0.2, what="the scheduler healthy")
        # The plain port still answers on loopback; the secure one checks every caller.
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(f"http://127.0.0.1:{plain}/metrics")).status_code == 200
        await check_secure_port(apiserver, secure, *tokens)
        assert forbidden_lines(log.read_text()) == []
    finally:
        stop_process(proc)
        log.unlink(missing_ok=True)


async def test_serve_health_refuses_plain_http_beyond_loopback() -> None:
    for host in ("0.0.0.0", "", "::"):
        with pytest.raises(InsecureBindError, match="beyond loopback"):
            await serve_health(host, 0)
    cert, key = pki_of_run().serving("metrics-test")
    tls = server_ssl_context(str(cert), str(key), None)
    with pytest.raises(InsecureBindError):  # TLS without authentication is not enough
        await serve_health("0.0.0.0", 0, tls=tls)


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("scheduler", ["--bind-address", "0.0.0.0"], "the plain /metrics port has no TLS"),
        ("controller_manager", ["--bind-address", "10.0.0.1"], "the plain /metrics port has no TLS"),
        ("kube_proxy", ["--bind-address", "0.0.0.0"], "the plain /metrics port has no TLS"),
        ("netpol", ["--bind-address", "::"], "the plain /metrics port has no TLS"),
        ("scheduler", ["--secure-port", "10259"], "--secure-port needs --tls-cert-file"),
        (
            "metrics_server",
            [
                "--tls-cert-file",
                "c",
                "--tls-private-key-file",
                "k",
                "--requestheader-client-ca-file",
                "ca",
                "--health-bind-address",
                "0.0.0.0",
            ],
            "the plain /metrics port has no TLS",
        ),
    ],
)
def test_components_refuse_plain_metrics_beyond_loopback(module: str, args: list[str], message: str) -> None:
    """A clear error at start (exit 2, before any connection), not a listener open to the network."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--master", "https://127.0.0.1:1", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
