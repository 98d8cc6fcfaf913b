"""Fixtures for the real-kubectl suite: one apiserver per module (the shared `apiserver` fixture), a kubeconfig
pointing at it, a fresh kubectl cache dir per test session, and a namespace of its own for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ApiServer
from tests.integration.kubectl.kube import Api, Kubectl
from tests.kube import write_kubeconfig
from tests.namespaces import temporary_namespace


@pytest.fixture(scope="session")
def kubectl_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-home")


@pytest.fixture(scope="module")
def api(apiserver: ApiServer) -> Iterator[Api]:
    client = Api(apiserver.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def kube(apiserver: ApiServer, kubectl_home: Path) -> Kubectl:
    """kubectl bound to this module's apiserver, with no namespace (the kubeconfig's default)."""
    config = write_kubeconfig(kubectl_home / f"kubeconfig-{apiserver.port}", apiserver)
    return Kubectl(kubeconfig=config, cache_dir=kubectl_home / "cache")


@pytest.fixture
def ns(api: Api) -> Iterator[str]:
    with temporary_namespace(api.http, "k-", purge=True) as name:
        yield name


@pytest.fixture
def kubectl(kube: Kubectl, ns: str) -> Kubectl:
    """kubectl with `-n <the test's namespace>`."""
    return kube.in_namespace(ns)
