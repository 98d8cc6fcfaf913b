"""Fixtures for the client-side tests: a `Client` of the module's apiserver and a fresh namespace per test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from apimachinery.client import Client
from apimachinery.errors import StatusError
from tests.harness import ApiServer
from tests.integration.client.helpers import (
    NAMESPACES,
    make_namespace,
)


@pytest.fixture
async def client(apiserver: ApiServer) -> AsyncIterator[Client]:
    c = Client(apiserver.config(), user_agent="kubelite-client-tests")
    yield c
    await c.aclose()


@pytest.fixture
async def namespace(client: Client) -> AsyncIterator[str]:
    name = await make_namespace(client)
    yield name
    try:
        await client.delete(NAMESPACES, name)
    except StatusError:
        pass  # best effort: the namespace stays Terminating without a namespace controller; names are unique


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running (informers, electors, recorders must be stopped)."""
    yield
    current = asyncio.current_task()
    deadline = time.monotonic() + 1.0
    while True:
        # httpx's nested stream generators are finalized by short-lived tasks that the loop creates on garbage
        # collection; those finish by themselves. Anything still running after a second is a real leak.
        left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not left or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    assert not left, f"tasks left running: {left}"
