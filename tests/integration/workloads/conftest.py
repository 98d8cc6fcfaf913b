"""Fixtures for the workload controllers (Jobs, CronJobs, DaemonSets, StatefulSets, ReplicationControllers): a
cluster of the module's own (etcd, apiserver, controller-manager, scheduler; its own node set, so DaemonSet counts
are exact), hollow-node groups per test, and a stand-in kubelet that finishes Job pods.

`finish(client, ns, pod, phase)` plays the kubelet's part for a pod that ran to completion (containers terminated
with an exit code, phase Succeeded or Failed): hollow nodes never end a pod. The real kubelet doing the same on
Docker is shown in tests/e2e/cluster/test_workloads.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.components import Component, checked, hollow_groups, managers, start_scheduler
from tests.harness import ApiServer
from tests.integration.workloads.helpers import MANAGER_ARGS, start_manager


@pytest.fixture(scope="module")
def apiserver(cluster: ApiServer) -> ApiServer:
    """The shared fixtures (`client`, `namespace`, `api`, `ns`) use this module's own cluster."""
    return cluster


@pytest.fixture(scope="module")
def scheduler(cluster: ApiServer) -> Iterator[Component]:
    with checked(start_scheduler(cluster)) as s:
        yield s


@pytest.fixture(scope="module")
def manager(cluster: ApiServer) -> Iterator[Component]:
    with checked(start_manager(cluster)) as m:
        yield m


@pytest.fixture
def start_managers(cluster: ApiServer) -> Iterator[Callable[..., Component]]:
    """Managers of the test's own (for restart tests); all stopped at its end."""
    with managers(cluster, *MANAGER_ARGS) as start:
        yield start


@pytest.fixture
def hollow(cluster: ApiServer) -> Iterator[Callable[..., list[str]]]:
    """`hollow(count, prefix, *args)`: a group of hollow nodes, Ready before it returns; stopped (nodes deleted)
    at the end of the test."""
    with cluster.client(timeout=10) as http, hollow_groups(cluster, http) as start:
        yield start
