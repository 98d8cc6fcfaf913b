"""Fixtures for scheduler tests: a cluster of our own per module (exact node counts in the messages), a running
kube-scheduler, hollow-node groups started per test (and deleted after it), and a small sync API helper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.components import Component, hollow_groups, start_scheduler
from tests.harness import ApiServer
from tests.integration.scheduler.helpers import Api


@pytest.fixture(scope="module")
def api(cluster: ApiServer) -> Iterator[Api]:
    client = Api(cluster.url)  # as the admin
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def scheduler(cluster: ApiServer) -> Iterator[Component]:
    comp = start_scheduler(cluster)
    yield comp
    comp.cleanup()


@pytest.fixture
def hollow(api: Api, cluster: ApiServer) -> Iterator[Any]:
    """`hollow(count, prefix, *args)` starts a group of hollow nodes and waits until they are Ready; every group
    is stopped and its nodes deleted when the test ends."""
    with hollow_groups(cluster, api.http, ready_within=15) as start:
        yield start


@pytest.fixture
def ns(api: Api) -> Iterator[str]:
    """A namespace for one test; its pods are deleted afterwards, so pending ones cannot land on later nodes."""
    name = api.create_namespace()
    yield name
    for pod in (api.get(f"/api/v1/namespaces/{name}/pods") or {}).get("items") or []:
        api.http.request(
            "DELETE",
            f"/api/v1/namespaces/{name}/pods/{pod['metadata']['name']}",
            json={"gracePeriodSeconds": 0},
        )
