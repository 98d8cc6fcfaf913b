"""discovery.k8s.io/v1 EndpointSlices through the real kubectl: discovery, the server-side table, validation, and
`kubectl describe svc`, which (since 1.19) shows a Service's endpoints from its slices."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl, table

pytestmark = MARKS


def _slice(name: str, service_name: str, addresses: list[str], **extra: object) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service_name}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        **extra,
    }


def test_endpointslices_are_served_listed_and_described(kubectl: Kubectl, api: Api, ns: str) -> None:
    resources = table(kubectl("api-resources", "--api-group=discovery.k8s.io"))
    assert [(r["NAME"], r["APIVERSION"], r["NAMESPACED"], r["KIND"]) for r in resources] == [
        ("endpointslices", "discovery.k8s.io/v1", "true", "EndpointSlice")
    ]
    api.create(f"/api/v1/namespaces/{ns}/services", factories.service("web", {"app": "web"}))
    base = f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
    api.create(base, _slice("web-a", "web", ["10.244.0.5", "10.244.0.6", "10.244.0.7", "10.244.0.8"]))
    rows = table(kubectl("get", "endpointslices"))
    assert [(r["NAME"], r["ADDRESSTYPE"], r["PORTS"], r["ENDPOINTS"]) for r in rows] == [
        ("web-a", "IPv4", "8080", "10.244.0.5,10.244.0.6,10.244.0.7 + 1 more...")
    ]
    out = kubectl("describe", "svc", "web")
    assert re.search(
        r"^Endpoints:\s+10\.244\.0\.5:8080,10\.244\.0\.6:8080,10\.244\.0\.7:8080 \+ 1 more\.\.\.$", out, re.M
    ), out


def test_invalid_slices_are_refused_with_the_field(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    bad = _slice("bad", "web", ["127.0.0.1"])
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(yaml.safe_dump(bad))
    err = kubectl.fails("create", "-f", str(manifest))
    assert 'The EndpointSlice "bad" is invalid' in err
    assert 'endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range' in err
