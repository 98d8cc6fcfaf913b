"""Bad input gets a Kubernetes Status with the right code, never a traceback."""

from __future__ import annotations

import httpx
import pytest

from tests import factories

pytestmark = pytest.mark.etcd


def assert_status(r: httpx.Response, code: int, reason: str | None = None) -> dict:
    assert r.status_code == code, r.text
    body = r.json()
    assert body["kind"] == "Status" and body["code"] == code
    if reason:
        assert body["reason"] == reason
    assert "Traceback" not in r.text
    return body


def test_malformed_json_and_yaml_are_400(api: httpx.Client, ns: str) -> None:
    assert_status(api.post(f"/api/v1/namespaces/{ns}/pods", content=b"{nope"), 400, "BadRequest")
    r = api.post(
        f"/api/v1/namespaces/{ns}/pods", content=b"a: [b", headers={"Content-Type": "application/yaml"}
    )
    assert_status(r, 400, "BadRequest")
    assert_status(api.post(f"/api/v1/namespaces/{ns}/pods", content=b"[1,2]"), 400)


def test_yaml_body_is_accepted(api: httpx.Client, ns: str) -> None:
    body = (
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: y\nspec:\n  containers:\n  - name: a\n    image: b\n"
    )
    r = api.post(f"/api/v1/namespaces/{ns}/pods", content=body, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text


def test_kind_or_version_that_does_not_fit_the_path_is_400(api: httpx.Client, ns: str) -> None:
    body = factories.pod("k")
    body["kind"] = "Service"
    assert_status(api.post(f"/api/v1/namespaces/{ns}/pods", json=body), 400)
    body = factories.pod("k")
    body["apiVersion"] = "apps/v1"
    assert_status(api.post(f"/api/v1/namespaces/{ns}/pods", json=body), 400)


def test_body_namespace_must_match_path(api: httpx.Client, ns: str) -> None:
    body = factories.pod("n")
    body["metadata"]["namespace"] = "elsewhere"
    b = assert_status(api.post(f"/api/v1/namespaces/{ns}/pods", json=body), 400)
    assert "does not match the namespace" in b["message"]


def test_invalid_object_is_422_with_causes(api: httpx.Client, ns: str) -> None:
    body = factories.pod("Not_Valid")
    body["spec"]["containers"][0]["image"] = ""
    b = assert_status(api.post(f"/api/v1/namespaces/{ns}/pods", json=body), 422, "Invalid")
    fields = {c["field"] for c in b["details"]["causes"]}
    assert {"metadata.name", "spec.containers[0].image"} <= fields


def test_body_over_3_mib_is_413(api: httpx.Client, ns: str) -> None:
    big = {"metadata": {"name": "big"}, "data": {"x": "a" * (3 * 1024 * 1024 + 10)}}
    assert_status(api.post(f"/api/v1/namespaces/{ns}/configmaps", json=big), 413)


def test_unknown_resource_and_paths_are_404(api: httpx.Client, ns: str) -> None:
    assert_status(api.get(f"/api/v1/namespaces/{ns}/widgets"), 404, "NotFound")
    assert_status(api.get("/apis/nope.example.com/v1/things"), 404)
    assert_status(api.get("/not/a/path"), 404)
    b = assert_status(api.get(f"/api/v1/namespaces/{ns}/pods/missing"), 404)
    assert b["message"] == 'pods "missing" not found' and b["details"] == {"name": "missing", "kind": "pods"}


def test_unsupported_media_type_is_415(api: httpx.Client, ns: str) -> None:
    r = api.post(
        f"/api/v1/namespaces/{ns}/pods",
        content=b"\xa0",
        headers={"Content-Type": "application/cbor"},
    )
    assert_status(r, 415, "UnsupportedMediaType")
    # Kubernetes protobuf is understood (kubectl 1.32's create commands send it); a malformed body is a 400.
    r = api.post(
        f"/api/v1/namespaces/{ns}/pods",
        content=b"\x00",
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
    )
    assert_status(r, 400, "BadRequest")
    api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("p"))
    r = api.patch(
        f"/api/v1/namespaces/{ns}/pods/p", content=b"{}", headers={"Content-Type": "application/xml"}
    )
    assert_status(r, 415)


def test_bad_query_values_are_400(api: httpx.Client, ns: str) -> None:
    assert_status(api.get(f"/api/v1/namespaces/{ns}/pods", params={"limit": "many"}), 400)
    assert_status(
        api.get(f"/api/v1/namespaces/{ns}/pods", params={"watch": "1", "resourceVersion": "abc"}), 400
    )
    assert_status(
        api.post(f"/api/v1/namespaces/{ns}/pods", params={"dryRun": "Some"}, json=factories.pod("d")), 400
    )


def test_immutable_fields_on_update_are_422(api: httpx.Client, ns: str) -> None:
    api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("imm"))
    pod = api.get(f"/api/v1/namespaces/{ns}/pods/imm").json()
    pod["spec"]["restartPolicy"] = "Never"
    assert_status(api.put(f"/api/v1/namespaces/{ns}/pods/imm", json=pod), 422, "Invalid")
