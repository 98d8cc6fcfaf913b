"""Fixtures for controller-manager tests: the manager as a real process, a client, namespaces, and a stand-in kubelet.

`PodReadier` plays the part of the kubelet for tests that need pods to become ready without containers: it
watches pods in a namespace and writes Running + Ready=True + a pod IP through the status subresource.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from apimachinery.client import Client
from tests.harness import (
    ApiServer,
)
from tests.integration.controller_manager.helpers import ManagerProcess
from tests.resources import NAMESPACES


@pytest.fixture
def start_manager(apiserver: ApiServer) -> Iterator[Callable[..., ManagerProcess]]:
    """Start controller-manager processes for one test; all of them are stopped at its end."""
    started: list[ManagerProcess] = []

    def start(*args: str) -> ManagerProcess:
        m = ManagerProcess(apiserver, list(args))
        started.append(m)
        m.wait_healthy()
        return m

    yield start
    for m in started:
        m.stop()
        m.assert_never_forbidden()
        m.cleanup()


@pytest.fixture(scope="module")
def manager(apiserver: ApiServer) -> Iterator[ManagerProcess]:
    """One manager with every controller for a whole test module (most tests only need it running)."""
    m = ManagerProcess(apiserver, [])
    m.wait_healthy()
    yield m
    m.assert_never_forbidden()
    if os.environ.get("KUBELITE_KEEP_LOGS"):
        print(f"controller-manager log: {m.log_path}")
        m.stop()
        return
    m.cleanup()


@pytest.fixture
async def client(apiserver: ApiServer) -> AsyncIterator[Client]:
    c = Client(apiserver.config())
    yield c
    await c.aclose()


@pytest.fixture
async def namespace(client: Client) -> AsyncIterator[str]:
    """A fresh namespace for one test, deleted afterwards (best effort)."""
    name = f"cm-{uuid.uuid4().hex[:8]}"
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    with contextlib.suppress(Exception):
        await client.delete(NAMESPACES, name)
