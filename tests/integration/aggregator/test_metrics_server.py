"""The real metrics-server behind the real apiserver's aggregation layer (no kubelet here: the node metrics come
from the e2e test on Docker, tests/e2e/metrics): it registers as kube-system/metrics-server, the APIService that
`--register-metrics-apiservice` keeps becomes Available, metrics.k8s.io answers through the apiserver, and the
server believes X-Remote-* only from the front-proxy certificate with an allowed name; it runs as its own
least-privileged identity, serves health and metrics, and withdraws its endpoint on SIGTERM."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import ApiServer, forbidden_lines, wait_until
from tests.harness import test_pki as cluster_pki
from tests.integration.aggregator.frontproxy import FrontProxy, local_address
from tests.integration.aggregator.metricsserver import MetricsServer

pytestmark = pytest.mark.timeout(120)

METRICS = "/apis/metrics.k8s.io/v1beta1"
APISERVICE = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io"


def _available(api: httpx.Client) -> dict:
    obj = api.get(APISERVICE).json()
    return next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Available"), {}
    )


@pytest.fixture(scope="module")
def metrics_server(
    apiserver: ApiServer, front_proxy: FrontProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetricsServer]:
    server = MetricsServer(apiserver, front_proxy.ca_file, tmp_path_factory.mktemp("ms"), local_address())
    try:
        with apiserver.client() as api:
            wait_until(
                lambda: _available(api).get("status") == "True", 30, what="v1beta1.metrics.k8s.io Available"
            )
        yield server
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)


def _direct(server: MetricsServer, cert: tuple[Path, Path] | None) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=cluster_pki().ca_file)
    ctx.check_hostname = False  # reached on 127.0.0.1; its certificate names metrics-server.kube-system.svc
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return httpx.Client(base_url=server.url, verify=ctx, timeout=5)


def test_metrics_api_through_the_apiserver(apiserver: ApiServer, metrics_server: MetricsServer) -> None:
    with apiserver.client() as api:
        assert "metrics.k8s.io" in [g["name"] for g in api.get("/apis").json()["groups"]]
        kinds = {r["name"]: r["kind"] for r in api.get(METRICS).json()["resources"]}
        assert kinds == {"nodes": "NodeMetrics", "pods": "PodMetrics"}
        r = api.get(f"{METRICS}/nodes")
        assert r.status_code == 200 and r.json()["kind"] == "NodeMetricsList", r.text
        r = api.get(f"{METRICS}/namespaces/default/pods?labelSelector=app%3Dweb")
        assert r.status_code == 200 and r.json() == {
            "kind": "PodMetricsList",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {},
            "items": [],
        }
        r = api.get(f"{METRICS}/nodes/no-such-node")
        assert r.status_code == 404 and r.json()["reason"] == "NotFound"
        r = api.get(f"{METRICS}/pods?labelSelector=a%20b%20c")
        assert r.status_code == 400 and r.json()["kind"] == "Status"
    # A user without a role: refused by the apiserver before anything is proxied.
    with apiserver.client(user="nobody", groups=()) as api:
        assert api.get(f"{METRICS}/nodes").status_code == 403


def test_identity_headers_count_only_from_the_front_proxy_certificate(
    apiserver: ApiServer, metrics_server: MetricsServer, front_proxy: FrontProxy
) -> None:
    forged = {"X-Remote-User": "kubernetes-admin", "X-Remote-Group": "system:masters"}
    # No certificate, or the cluster CA's admin certificate: not the front proxy, so the headers are ignored.
    with _direct(metrics_server, None) as c:
        assert c.get(f"{METRICS}/nodes", headers=forged).status_code == 401
    admin = cluster_pki().credentials("kubernetes-admin", ("system:masters",))
    with pytest.raises(httpx.HTTPError), _direct(metrics_server, admin) as c:
        c.get(f"{METRICS}/nodes", headers=forged)  # a certificate of another CA fails the handshake
    # The front-proxy CA, but a name that is not allowed.
    other = front_proxy.ca.issue_files(front_proxy.dir, "other", "someone-else")
    with _direct(metrics_server, other) as c:
        assert c.get(f"{METRICS}/nodes", headers=forged).status_code == 401
    # The front proxy's own certificate: the headers are believed, and the user is authorized by SubjectAccessReview.
    proxy = (front_proxy.client_cert, front_proxy.client_key)
    with _direct(metrics_server, proxy) as c:
        assert c.get(f"{METRICS}/nodes", headers=forged).status_code == 200
        r = c.get(f"{METRICS}/nodes", headers={"X-Remote-User": "nobody"})
        assert r.status_code == 403 and 'User "nobody" cannot list resource "nodes"' in r.json()["message"]


def test_health_metrics_and_least_privilege(metrics_server: MetricsServer) -> None:
    base = f"http://127.0.0.1:{metrics_server.health_port}"
    assert httpx.get(base + "/healthz").text == "ok"
    assert httpx.get(base + "/readyz").text == "ok"
    assert "metrics_server_kubelet_request_duration_seconds_count" in httpx.get(base + "/metrics").text
    with _direct(metrics_server, None) as c:
        assert c.get("/healthz").text == "ok"
    assert forbidden_lines(metrics_server.logs()) == []
    assert '"component": "metrics-server"' in metrics_server.logs()


def test_it_publishes_its_endpoint_and_withdraws_it_on_sigterm(
    apiserver: ApiServer, front_proxy: FrontProxy, metrics_server: MetricsServer, tmp_path: Path
) -> None:
    with apiserver.client() as api:
        svc = api.get("/api/v1/namespaces/kube-system/services/metrics-server").json()
        assert svc["spec"]["ports"][0]["port"] == 443
        eps = api.get("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/metrics-server").json()
        assert eps["endpoints"][0]["addresses"] == [metrics_server.address]
        assert eps["ports"][0]["port"] == metrics_server.port
    code = metrics_server.stop()
    assert code == 0
    with apiserver.client() as api:
        eps = api.get("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/metrics-server").json()
        assert eps["endpoints"] == []
        r = api.get(f"{METRICS}/nodes")
        assert r.status_code == 503 and r.json()["reason"] == "ServiceUnavailable"
