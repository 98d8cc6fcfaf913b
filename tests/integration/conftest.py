"""Fixtures shared by the integration folders: a JSON client of the module's `apiserver` and a namespace of the test's
own. Folders override `apiserver` (sqlite: an SQLite-backed one) and these build on whichever is in force."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import ApiServer


@pytest.fixture
def api(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.client(timeout=10, headers={"Content-Type": "application/json"}) as client:
        yield client


@pytest.fixture
def ns(api: httpx.Client) -> Iterator[str]:
    name = "t-" + uuid.uuid4().hex[:8]
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code == 201, r.text
    yield name
    api.delete(f"/api/v1/namespaces/{name}")
