"""Fixtures for scheduler tests: a cluster of our own per module (exact node counts in the messages), a running
kube-scheduler, hollow-node groups started per test (and deleted after it), and a small sync API helper."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness import (
    ApiServer,
    own_apiserver,
    start_component,
)
from tests.integration.scheduler.helpers import Api, Component, start_scheduler
from tests.polling import wait_until


@pytest.fixture(scope="module")
def cluster() -> Iterator[ApiServer]:
    """etcd + apiserver of this module's own: other modules' nodes cannot change where pods land."""
    with own_apiserver() as server:
        yield server


@pytest.fixture(scope="module")
def api(cluster: ApiServer) -> Iterator[Api]:
    client = Api(cluster.url)  # as the admin
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def scheduler(cluster: ApiServer) -> Iterator[Component]:
    comp = start_scheduler(cluster)
    yield comp
    comp.stop()


@pytest.fixture
def hollow(api: Api, cluster: ApiServer) -> Iterator[Any]:
    """`hollow(count, prefix, *args)` starts a group of hollow nodes and waits until they are Ready; every group
    is stopped and its nodes deleted when the test ends."""
    started: list[tuple[Component, list[str]]] = []

    def start(count: int, prefix: str, *args: str) -> list[str]:
        proc, log = start_component(
            [
                "kubelet.hollow",
                # Hollow nodes stand for many kubelets at once: they run as the admin, not as one node.
                "--kubeconfig",
                str(cluster.admin_kubeconfig),
                "--count",
                str(count),
                "--name-prefix",
                prefix,
                "--delete-on-exit",
                *args,
            ],
            "hollow",
        )
        names = [f"{prefix}{i}" for i in range(count)]
        started.append((Component(proc, log), names))

        def ready() -> bool:
            assert proc.poll() is None, log.read_text()
            seen = {
                n["metadata"]["name"]
                for n in api.nodes()
                if any(
                    c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", [])
                )
            }
            return set(names) <= seen

        wait_until(ready, 15, what=f"hollow nodes {prefix}*")
        return names

    yield start
    for comp, names in started:
        comp.stop()
        for name in names:  # in case the group died before it could clean up
            with contextlib.suppress(httpx.HTTPError):
                api.http.delete(f"/api/v1/nodes/{name}")
    wait_until(
        lambda: (
            not any(
                n in {x for _, ns in started for x in ns}
                for n in (x["metadata"]["name"] for x in api.nodes())
            )
        ),
        10,
        what="hollow nodes deleted",
    )


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
