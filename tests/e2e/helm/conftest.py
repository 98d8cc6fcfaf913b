"""A `kctl up` cluster for the helm tests (module scope), torn down with `kctl down --purge` however they end."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.up.helpers import UpCluster, skip_unless_up_can_run, tear_down
from tests.helm import Helm
from tests.images import ensure_images
from tests.polling import wait_until


@pytest.fixture(scope="module")
def cluster() -> Iterator[UpCluster]:
    skip_unless_up_can_run()
    ensure_images()
    up = UpCluster(Path(tempfile.mkdtemp(prefix="kubelite-helm-")))
    try:
        started = up.kctl(*up.up_args(), timeout=240)
        assert started.returncode == 0, f"kctl up failed:\n{started.stdout}\n{started.stderr}"
        yield up
    finally:
        tear_down(up)


@pytest.fixture(scope="module")
def api(cluster: UpCluster) -> Iterator[httpx.Client]:
    with cluster.api() as client:
        yield client


@pytest.fixture
def ns(api: httpx.Client) -> Iterator[str]:
    """A namespace of the test's own, deleted (and waited for) at the end."""
    name = "helm-" + uuid.uuid4().hex[:6]
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    try:
        yield name
    finally:
        api.delete(f"/api/v1/namespaces/{name}")
        wait_until(
            lambda: api.get(f"/api/v1/namespaces/{name}").status_code == 404, 90, 0.5, what=f"{name} deleted"
        )


@pytest.fixture
def helm(cluster: UpCluster, ns: str, tmp_path: Path) -> Helm:
    return Helm(cluster.kubeconfig, tmp_path / "helm-home", namespace=ns)
