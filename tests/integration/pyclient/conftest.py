"""Fixtures for the client-library suites: one apiserver per module with a small watch cache (so that a watch
from an old resourceVersion gets 410 Gone after a few writes), a namespace of its own for every test, and the
official Python client as the admin (its `core`, `apps` and `events` APIs; `api_client` is in tests/integration/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from kubernetes import client

from tests.harness import ApiServer, Etcd, running_apiserver
from tests.integration.pyclient.helpers import WATCH_CACHE_SIZE
from tests.namespaces import temporary_namespace


@pytest.fixture(scope="module")
def apiserver(etcd: Etcd) -> Iterator[ApiServer]:
    with running_apiserver(etcd.url, ["--watch-cache-size", str(WATCH_CACHE_SIZE)]) as server:
        yield server


@pytest.fixture(scope="module")
def http(apiserver: ApiServer) -> Iterator[httpx.Client]:
    """The tests' independent view of what is stored."""
    with apiserver.client(timeout=10) as client:
        yield client


@pytest.fixture
def ns(http: httpx.Client) -> Iterator[str]:
    with temporary_namespace(http, "py-", purge=True) as name:
        yield name


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def events(api_client: client.ApiClient) -> client.EventsV1Api:
    return client.EventsV1Api(api_client)
