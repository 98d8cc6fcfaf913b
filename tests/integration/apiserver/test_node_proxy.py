"""The nodes/proxy subresource without a kubelet: what the apiserver itself answers (Status bodies for a node that
does not exist, a kubelet that cannot be reached, a path or method that is refused, and a caller without
`nodes/proxy`). tests/e2e/kubelet/test_stats.py relays to a real kubelet."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import ApiServer, free_port

pytestmark = pytest.mark.etcd


@pytest.fixture
def node(apiserver: ApiServer) -> Iterator[str]:
    """A Node whose kubelet port on loopback has nobody listening."""
    name = f"np-{uuid.uuid4().hex[:8]}"
    with apiserver.client(timeout=10) as api:
        r = api.post("/api/v1/nodes", json={"metadata": {"name": name}})
        assert r.status_code == 201, r.text
        status = {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": free_port()}},
        }
        r = api.patch(f"/api/v1/nodes/{name}/status", json={"status": status},
                      headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
        assert r.status_code == 200, r.text
        yield name
        api.delete(f"/api/v1/nodes/{name}")


def _status(r: httpx.Response, code: int) -> dict:
    assert r.status_code == code, r.text
    body = r.json()
    assert body["kind"] == "Status" and body["code"] == code
    return dict(body)


def test_unreachable_kubelet_is_503(apiserver: ApiServer, node: str) -> None:
    with apiserver.client(timeout=20) as api:
        body = _status(api.get(f"/api/v1/nodes/{node}/proxy/stats/summary"), 503)
        assert body["reason"] == "ServiceUnavailable" and "error trying to reach service" in body["message"]


def test_unknown_node_bad_paths_and_methods(apiserver: ApiServer, node: str) -> None:
    with apiserver.client(timeout=10) as api:
        assert "not found" in _status(api.get("/api/v1/nodes/nope-x/proxy/stats/summary"), 404)["message"]
        _status(api.get(f"/api/v1/nodes/{node}/proxy/stats/%2e%2e/%2e%2e/etc/passwd"), 400)
        _status(api.get(f"/api/v1/nodes/{node}/proxy//169.254.169.254/latest"), 400)
        _status(api.get(f"/api/v1/nodes/{node}:22/proxy/"), 400)
        _status(api.get("/api/v1/nodes/Not_A_Name/proxy/"), 400)
        _status(api.delete(f"/api/v1/nodes/{node}/proxy/pods"), 405)


def test_nodes_proxy_permission_is_required(apiserver: ApiServer, node: str) -> None:
    with apiserver.client(user="np-stranger", groups=(), timeout=10) as api:
        body = _status(api.get(f"/api/v1/nodes/{node}/proxy/stats/summary"), 403)
        assert 'cannot get resource "nodes/proxy"' in body["message"]
