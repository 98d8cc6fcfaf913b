"""The aggregation layer against a real apiserver (SQLite, HTTPS, Node+RBAC) and a small HTTPS backend on this
machine (backend.py): an APIService with a Service and an EndpointSlice sends its group there, with the
front-proxy client certificate and the user in X-Remote-*; the caller's credentials and forged identity headers
never pass; discovery lists the group; the availability check sets Available; a backend that is gone is a 503
Status. No Docker."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import ApiServer, wait_until
from tests.harness import test_pki as cluster_pki
from tests.integration.aggregator.backend import EchoBackend
from tests.integration.aggregator.frontproxy import FrontProxy, local_address
from tests.integration.kubectl.kube import Kubectl
from tests.kube import write_kubeconfig

pytestmark = pytest.mark.timeout(120)

NS = "kube-system"
GROUP, VERSION = "echo.example.com", "v1"
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def api_service(service: str, port: int = 443, *, ca: bytes | None = None) -> dict:
    spec: dict = {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 1000, "versionPriority": 15,
                  "service": {"namespace": NS, "name": service, "port": port}}  # fmt: skip
    if ca is not None:
        spec["caBundle"] = base64.b64encode(ca).decode()
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": f"{VERSION}.{GROUP}"}, "spec": spec}  # fmt: skip


def publish(api: httpx.Client, name: str, address: str, port: int) -> None:
    svc = {
        "metadata": {"name": name},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]},
    }
    assert api.post(f"/api/v1/namespaces/{NS}/services", json=svc).status_code == 201
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": name, "labels": {"kubernetes.io/service-name": name}}, "addressType": "IPv4",
           "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
           "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}  # fmt: skip
    r = api.post(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices", json=eps)
    assert r.status_code == 201, r.text


def available(api: httpx.Client, name: str) -> dict:
    obj = api.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{name}").json()
    return next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Available"), {}
    )


@pytest.fixture(scope="module")
def echo(apiserver: ApiServer, front_proxy: FrontProxy) -> Iterator[EchoBackend]:
    cert, key = cluster_pki().ca.issue_files(front_proxy.dir, "echo", "echo", server=True, client=False,
                                          dns_names=["echo.kube-system.svc"])  # fmt: skip
    backend = EchoBackend(cert, key, front_proxy.ca_file)
    backend.start()
    with apiserver.client() as api:
        publish(api, "echo", local_address(), backend.port)
        r = api.post("/apis/apiregistration.k8s.io/v1/apiservices",
                     json=api_service("echo", ca=cluster_pki().ca.pem))  # fmt: skip
        assert r.status_code == 201, r.text
        try:
            wait_until(lambda: available(api, f"{VERSION}.{GROUP}").get("status") == "True", 30,
                       what="the echo APIService Available")  # fmt: skip
        except TimeoutError:
            pytest.fail(f"not available: {available(api, f'{VERSION}.{GROUP}')}\n{apiserver.logs()[-3000:]}")
    try:
        yield backend
    finally:
        backend.stop()
        with apiserver.client() as api:
            api.delete(f"/apis/apiregistration.k8s.io/v1/apiservices/{VERSION}.{GROUP}")
            api.delete(f"/api/v1/namespaces/{NS}/services/echo")
            api.delete(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices/echo")


def test_a_request_reaches_the_backend_with_the_user_in_requestheader_form(
    apiserver: ApiServer, echo: EchoBackend
) -> None:
    with apiserver.client(headers={"X-Remote-User": "mallory", "X-Remote-Group": "system:masters"}) as api:
        r = api.post(f"/apis/{GROUP}/{VERSION}/namespaces/default/echoes?dryRun=All", content=b'{"a":1}')
    assert r.status_code == 200, r.text
    seen = r.json()
    headers = [(k.lower(), v) for k, v in seen["headers"]]
    assert seen["method"] == "POST" and seen["path"] == f"/apis/{GROUP}/{VERSION}/namespaces/default/echoes"
    assert seen["query"] == "dryRun=All" and seen["body"] == '{"a":1}'
    assert seen["client"] == ["front-proxy-client", []]  # the apiserver's front-proxy certificate
    assert [v for k, v in headers if k == "x-remote-user"] == ["kubernetes-admin"]  # not the forged one
    assert sorted(v for k, v in headers if k == "x-remote-group") == [
        "system:authenticated",
        "system:masters",
    ]
    assert not [k for k, _ in headers if k in ("authorization", "impersonate-user")]


def test_the_apiserver_authorizes_before_it_proxies(apiserver: ApiServer, echo: EchoBackend) -> None:
    with apiserver.client(user="nobody", groups=()) as api:
        r = api.get(f"/apis/{GROUP}/{VERSION}/namespaces/default/echoes")
    assert r.status_code == 403 and r.json()["reason"] == "Forbidden"
    assert 'cannot list resource "echoes" in API group "echo.example.com"' in r.json()["message"]


def test_discovery_lists_the_aggregated_group(apiserver: ApiServer, echo: EchoBackend) -> None:
    with apiserver.client() as api:
        groups = {g["name"]: g for g in api.get("/apis").json()["groups"]}
        assert groups[GROUP]["preferredVersion"]["groupVersion"] == f"{GROUP}/{VERSION}"
        assert api.get(f"/apis/{GROUP}").json()["versions"] == [
            {"groupVersion": f"{GROUP}/{VERSION}", "version": VERSION}
        ]
        assert (
            api.get(f"/apis/{GROUP}/{VERSION}").json()["resources"][0]["kind"] == "Echo"
        )  # from the backend
        r = api.get("/apis", headers={"Accept": AGGREGATED_V2})
        assert r.headers["content-type"] == AGGREGATED_V2
        item = next(i for i in r.json()["items"] if i["metadata"]["name"] == GROUP)
        assert item["versions"][0]["resources"][0]["resource"] == "echoes"
        assert item["versions"][0]["freshness"] == "Current"


def test_kubectl_shows_the_apiservice(apiserver: ApiServer, echo: EchoBackend, tmp_path: Path) -> None:
    kubectl = Kubectl(
        kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", apiserver), cache_dir=tmp_path / "cache"
    )
    out = kubectl("get", "apiservices")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SERVICE", "AVAILABLE", "AGE"]
    row = next(line.split() for line in lines if line.startswith(f"{VERSION}.{GROUP}"))
    assert row[1:3] == ["kube-system/echo", "True"]


def test_a_backend_without_endpoints_is_a_503_and_not_available(
    apiserver: ApiServer, front_proxy: FrontProxy
) -> None:
    with apiserver.client() as api:
        r = api.post("/apis/apiregistration.k8s.io/v1/apiservices", json={**api_service("gone"),
                     "metadata": {"name": "v1.gone.example.com"}, "spec": {**api_service("gone")["spec"], "group": "gone.example.com"}})  # fmt: skip
        assert r.status_code == 201, r.text
        try:
            r = api.get("/apis/gone.example.com/v1/namespaces/default/things")
            assert r.status_code == 503 and r.json()["reason"] == "ServiceUnavailable"
            assert r.json()["kind"] == "Status"
            wait_until(lambda: available(api, "v1.gone.example.com").get("reason") == "ServiceNotFound", 20,
                       what="Available False (ServiceNotFound)")  # fmt: skip
            # The Service and slice exist, but nothing listens there.
            publish(api, "gone", local_address(), 1)
            r = api.get("/apis/gone.example.com/v1/namespaces/default/things")
            assert r.status_code == 503 and "error trying to reach service" in r.json()["message"]
            wait_until(lambda: available(api, "v1.gone.example.com").get("reason") == "FailedDiscoveryCheck", 20,
                       what="Available False (FailedDiscoveryCheck)")  # fmt: skip
        finally:
            api.delete("/apis/apiregistration.k8s.io/v1/apiservices/v1.gone.example.com")
            api.delete(f"/api/v1/namespaces/{NS}/services/gone")
            api.delete(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices/gone")


def test_an_apiservice_cannot_take_a_built_in_group(apiserver: ApiServer, echo: EchoBackend) -> None:
    bad = api_service("echo")
    bad["metadata"]["name"], bad["spec"]["group"] = "v1.apps", "apps"
    with apiserver.client() as api:
        assert api.post("/apis/apiregistration.k8s.io/v1/apiservices", json=bad).status_code == 201
        try:
            r = api.get("/apis/apps/v1/namespaces/default/deployments")
            assert r.status_code == 200 and r.json()["kind"] == "DeploymentList"
        finally:
            api.delete("/apis/apiregistration.k8s.io/v1/apiservices/v1.apps")


def test_invalid_apiservices_are_refused(apiserver: ApiServer) -> None:
    bad = api_service("echo", port=0)
    bad["metadata"]["name"] = "v2.wrong.example.com"
    with apiserver.client() as api:
        r = api.post("/apis/apiregistration.k8s.io/v1/apiservices", json=bad)
    assert r.status_code == 422, r.text
    fields = {c["field"] for c in r.json()["details"]["causes"]}
    assert fields == {"metadata.name", "spec.service.port"}
