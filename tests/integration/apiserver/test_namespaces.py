"""Namespaces: the system ones exist; objects need a live namespace; a deleted namespace terminates."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests import factories

pytestmark = pytest.mark.etcd


def test_system_namespaces_exist(api: httpx.Client) -> None:
    names = {n["metadata"]["name"] for n in api.get("/api/v1/namespaces").json()["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_create_in_missing_namespace_is_404(api: httpx.Client) -> None:
    r = api.post("/api/v1/namespaces/does-not-exist/pods", json=factories.pod("x"))
    assert r.status_code == 404 and r.json()["message"] == 'namespaces "does-not-exist" not found'


def test_terminating_namespace_refuses_new_objects(api: httpx.Client) -> None:
    name = "term-" + uuid.uuid4().hex[:6]
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    r = api.delete(f"/api/v1/namespaces/{name}")
    assert r.status_code in (200, 202)
    live = api.get(f"/api/v1/namespaces/{name}").json()
    assert live["status"]["phase"] == "Terminating" and live["metadata"]["deletionTimestamp"]
    r = api.post(f"/api/v1/namespaces/{name}/pods", json=factories.pod("late"))
    assert r.status_code == 403 and "being terminated" in r.json()["message"]
    # The namespace controller's last step: remove the kubernetes finalizer; then the namespace goes.
    live["spec"]["finalizers"] = []
    assert api.put(f"/api/v1/namespaces/{name}/finalize", json=live).status_code == 200
    assert api.get(f"/api/v1/namespaces/{name}").status_code == 404
