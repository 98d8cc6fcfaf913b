"""Fixtures for the workload controllers (Jobs, CronJobs, DaemonSets, StatefulSets, ReplicationControllers): a
cluster of the module's own (etcd, apiserver, controller-manager, scheduler; its own node set, so DaemonSet counts
are exact), hollow-node groups per test, and a stand-in kubelet that finishes Job pods.

`finish(client, ns, pod, phase)` plays the kubelet's part for a pod that ran to completion (containers terminated
with an exit code, phase Succeeded or Failed): hollow nodes never end a pod. The real kubelet doing the same on
Docker is shown in tests/e2e/cluster/test_workloads.py.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from apimachinery.client import Client
from tests.harness import (
    SCHEDULER,
    ApiServer,
    free_port,
    own_apiserver,
)
from tests.integration.workloads.helpers import Process, start_manager
from tests.polling import wait_until
from tests.resources import NAMESPACES


@pytest.fixture(scope="module")
def cluster() -> Iterator[ApiServer]:
    with own_apiserver() as server:
        yield server


@pytest.fixture(scope="module")
def scheduler(cluster: ApiServer) -> Iterator[Process]:
    port = free_port()
    s = Process(["scheduler", *cluster.component_args(*SCHEDULER), "--port", str(port)], "scheduler", port)
    s.wait_healthy()
    yield s
    s.assert_never_forbidden()
    s.stop()


@pytest.fixture(scope="module")
def manager(cluster: ApiServer) -> Iterator[Process]:
    m = start_manager(cluster)
    yield m
    m.assert_never_forbidden()
    m.stop()


@pytest.fixture
def start_managers(cluster: ApiServer) -> Iterator[Callable[..., Process]]:
    """Managers of the test's own (for restart tests); all stopped at its end."""
    started: list[Process] = []

    def start(*args: str) -> Process:
        m = start_manager(cluster, *args)
        started.append(m)
        return m

    yield start
    for m in started:
        m.assert_never_forbidden()
        m.stop()


@pytest.fixture
async def client(cluster: ApiServer) -> AsyncIterator[Client]:
    c = Client(cluster.config())
    yield c
    await c.aclose()


@pytest.fixture
async def namespace(client: Client) -> AsyncIterator[str]:
    name = f"w-{uuid.uuid4().hex[:8]}"
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    with contextlib.suppress(Exception):
        await client.delete(NAMESPACES, name)


@pytest.fixture
def hollow(cluster: ApiServer) -> Iterator[Callable[..., list[str]]]:
    """`hollow(count, prefix, *args)`: a group of hollow nodes, Ready before it returns; stopped (nodes deleted)
    at the end of the test. `stop(prefix)` ends one group early."""
    groups: dict[str, tuple[Process, list[str]]] = {}
    http = cluster.client(timeout=10)

    def ready_nodes() -> set[str]:
        items = http.get("/api/v1/nodes").json()["items"]
        return {
            n["metadata"]["name"]
            for n in items
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        }

    def start(count: int, prefix: str, *args: str) -> list[str]:
        proc = Process(
            [
                "kubelet.hollow",
                # Hollow nodes stand for many kubelets at once: they run as the admin.
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
        groups[prefix] = (proc, names)
        wait_until(lambda: proc.alive() and set(names) <= ready_nodes(), 20, what=f"hollow nodes {prefix}*")
        return names

    yield start
    for proc, names in groups.values():
        proc.stop()
        for name in names:  # in case the group died before it could clean up
            with contextlib.suppress(httpx.HTTPError):
                http.delete(f"/api/v1/nodes/{name}")
    http.close()
