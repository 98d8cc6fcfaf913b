"""Fixtures for the real-kubectl suite: one apiserver per module (the shared `apiserver` fixture), a kubeconfig
pointing at it, a fresh kubectl cache dir per test session, and a namespace of its own for every test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ApiServer
from tests.integration.kubectl.kube import Api, Kubectl, purge_namespace
from tests.kube import write_kubeconfig


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
    name = "k-" + uuid.uuid4().hex[:8]
    api.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    purge_namespace(api.http, name)


@pytest.fixture
def kubectl(kube: Kubectl, ns: str) -> Kubectl:
    """kubectl with `-n <the test's namespace>`."""
    return kube.in_namespace(ns)
