"""What the integration scheduler tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests import factories
from tests.harness import admin_tls
from tests.polling import wait_until


class Api:
    """Just enough of the REST API for tests, synchronous."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10, verify=admin_tls())

    def create_namespace(self) -> str:
        name = f"t-{uuid.uuid4().hex[:8]}"
        self.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.post(path, json=body)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()  # type: ignore[no-any-return]

    def get(self, path: str) -> dict[str, Any] | None:
        resp = self.http.get(path)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    def create_pod(self, namespace: str, pod: dict[str, Any]) -> dict[str, Any]:
        return self.post(f"/api/v1/namespaces/{namespace}/pods", pod)

    def pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{namespace}/pods/{name}")

    def node_of(self, namespace: str, name: str) -> str | None:
        pod = self.pod(namespace, name)
        return (pod or {}).get("spec", {}).get("nodeName")

    def wait_bound(self, namespace: str, name: str, timeout: float = 10) -> str:
        return wait_until(
            lambda: self.node_of(namespace, name), timeout, what=f"pod {namespace}/{name} bound"
        )  # type: ignore[no-any-return]

    def events(self, namespace: str, reason: str | None = None) -> list[dict[str, Any]]:
        items = (self.get(f"/api/v1/namespaces/{namespace}/events") or {}).get("items") or []
        return [e for e in items if reason is None or e.get("reason") == reason]

    def nodes(self) -> list[dict[str, Any]]:
        return (self.get("/api/v1/nodes") or {}).get("items") or []


def make_pod(name: str, cpu: str | None = "100m", **spec: Any) -> dict[str, Any]:
    """A pod requesting `cpu`; `host_port` asks for that host port (container port 80), `metadata` adds metadata."""
    host_port = spec.pop("host_port", None)
    ports = [{"containerPort": 80, "hostPort": host_port}] if host_port else None
    box = factories.container("app", "busybox", ports=ports, cpu=cpu)
    return factories.pod(name, containers=[box], metadata=spec.pop("metadata", {}), **spec)
