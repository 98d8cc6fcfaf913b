"""Objects that reached storage past the API (written with etcdctl, or by an older server): reading them must not
fail, and writing them back is refused with a 4xx rather than a 5xx."""

from __future__ import annotations

from typing import Any

from apimachinery import serialization
from tests.factories import manifest
from tests.integration.apiserver.hostile.helpers import Hostile, assert_status
from tests.polling import wait_until


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"x": value}
    return value


def test_a_973_deep_field_stored_earlier_does_not_break_lists(hostile: Hostile, ns: str) -> None:
    api = hostile.api
    spec = {"containers": [{"name": "c", "image": "i"}], "deep": deep(973)}
    pod = manifest("v1", "Pod", "deep", ns, spec=spec, status={"phase": "Pending"})
    hostile.put_object(f"/registry/pods/{ns}/deep", pod)
    wait_until(
        lambda: api.get(f"/api/v1/namespaces/{ns}/pods/deep").status_code == 200, 10, what="the deep pod"
    )
    for params in ({}, {"resourceVersion": "0"}, {"limit": "10"}):
        r = api.get(f"/api/v1/namespaces/{ns}/pods", params=params)
        assert r.status_code == 200, r.text[:300]
        # (orjson: the standard library's decoder would itself run out of recursion on this document)
        assert [p["metadata"]["name"] for p in serialization.loads(r.content)["items"]] == ["deep"]
    assert api.get("/api/v1/pods").status_code == 200
    table = api.get(
        f"/api/v1/namespaces/{ns}/pods", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    )
    assert table.status_code == 200
    with api.stream(
        "GET", f"/api/v1/namespaces/{ns}/pods", params={"watch": "1", "timeoutSeconds": "1"}
    ) as r:
        frames = [serialization.loads(line) for line in r.iter_lines() if line]
    assert [f["type"] for f in frames] == ["ADDED"]
    # Writing it back as it is: refused (400), not a 500.
    r = api.patch(
        f"/api/v1/namespaces/{ns}/pods/deep",
        json={"metadata": {"labels": {"a": "b"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert_status(r, 400, "BadRequest")
    r = api.delete(f"/api/v1/namespaces/{ns}/pods/deep")
    assert r.status_code == 200, r.text[:300]


def test_garbage_in_storage_does_not_take_the_server_down(hostile: Hostile, ns: str) -> None:
    api = hostile.api
    hostile.put_raw(f"/registry/configmaps/{ns}/garbage", b"\x00not json{")
    hostile.put_object(f"/registry/configmaps/{ns}/fine", manifest("v1", "ConfigMap", "fine", ns))
    wait_until(
        lambda: api.get(f"/api/v1/namespaces/{ns}/configmaps/fine").status_code == 200, 10, what="fine"
    )
    for params in ({}, {"limit": "1"}, {"resourceVersion": "0"}):
        r = api.get(f"/api/v1/namespaces/{ns}/configmaps", params=params)
        assert r.status_code == 200, r.text[:300]
        assert [c["metadata"]["name"] for c in r.json()["items"]] == ["fine"]
    # The value itself reads as a storage failure, the one kind of 5xx there is.
    assert_status(api.get(f"/api/v1/namespaces/{ns}/configmaps/garbage"), 500, "InternalError")
    assert hostile.api.get("/readyz", timeout=5).status_code == 200
    assert "stored value cannot be decoded" in hostile.server.logs()
    hostile.delete_raw(f"/registry/configmaps/{ns}/garbage")


def test_hostile_values_in_storage_read_back_as_written(hostile: Hostile, ns: str) -> None:
    """The API serves what storage holds (the host components are the ones that refuse to use it)."""
    api = hostile.api
    spec = {"type": "ClusterIP", "clusterIP": "10.96.0.77", "ports": [{"port": 80, "protocol": "TCP"}],
            "externalIPs": ["fe80::1%x\nnetns add pwn"]}  # fmt: skip
    svc = manifest("v1", "Service", "raw", ns, spec=spec)
    hostile.put_object(f"/registry/services/{ns}/raw", svc)
    got = wait_until(
        lambda: api.get(f"/api/v1/namespaces/{ns}/services/raw").json().get("spec"), 10, what="svc"
    )
    assert got["externalIPs"] == ["fe80::1%x\nnetns add pwn"]
    # Any change must now pass validation: the bad address has to go.
    r = api.patch(
        f"/api/v1/namespaces/{ns}/services/raw",
        json={"metadata": {"labels": {"a": "b"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert_status(r, 422, "Invalid")
