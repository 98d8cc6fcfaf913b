"""A private etcd + apiserver for the allocation tests (they fill address pools, which must not be shared); the
kube-proxy tests' admin client and namespaces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import ApiServer, need_etcd, own_apiserver


@pytest.fixture(scope="module")
def pool_apiserver() -> Iterator[ApiServer]:
    need_etcd()
    with own_apiserver() as server:
        yield server


@pytest.fixture
def api(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.client(timeout=10) as c:
        yield c


@pytest.fixture
def ns(api: httpx.Client) -> str:
    """A namespace for one test (left for the module's apiserver to drop: kube-proxy may still be reading it)."""
    name = f"kp-{uuid.uuid4().hex[:8]}"
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    return name
