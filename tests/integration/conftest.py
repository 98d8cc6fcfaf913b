"""Fixtures shared by the integration folders: a JSON client of the module's `apiserver` and a namespace of the test's
own (`api`, `ns`), `cluster` (an etcd and apiserver of the module's own), their async counterparts (`client`, a `Client`, and `namespace`), and `api_client`, the
official Python client's, as the admin. Folders override
`apiserver` (sqlite: an SQLite-backed one; workloads: a cluster of the module's own) and these build on whichever
is in force."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from apimachinery.client import Client
from tests.harness import ApiServer, own_apiserver
from tests.namespaces import temporary_namespace
from tests.resources import NAMESPACES


@pytest.fixture(scope="module")
def cluster() -> Iterator[ApiServer]:
    """etcd + apiserver of the module's own, for tests whose nodes or counts other modules must not change."""
    with own_apiserver() as server:
        yield server


@pytest.fixture
def api(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.client(timeout=10, headers={"Content-Type": "application/json"}) as client:
        yield client


@pytest.fixture
def ns(api: httpx.Client) -> Iterator[str]:
    with temporary_namespace(api) as name:
        yield name


@pytest.fixture
async def client(apiserver: ApiServer) -> AsyncIterator[Client]:
    c = Client(apiserver.config())
    yield c
    await c.aclose()


@pytest.fixture
async def namespace(client: Client) -> AsyncIterator[str]:
    """A fresh namespace for one test, deleted afterwards (best effort)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    with contextlib.suppress(Exception):
        await client.delete(NAMESPACES, name)


@pytest.fixture(scope="module")
def api_client(apiserver: ApiServer) -> Iterator[Any]:
    """The official Python client's ApiClient, as the admin (the admin kubeconfig: the cluster CA and a client
    certificate in system:masters)."""
    from kubernetes import client as kclient  # only the folders that use it pay for importing it
    from kubernetes import config as kconfig

    configuration = kclient.Configuration()
    kconfig.load_kube_config(config_file=str(apiserver.admin_kubeconfig), client_configuration=configuration)
    with kclient.ApiClient(configuration) as api:
        yield api
