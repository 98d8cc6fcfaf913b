"""Fixtures for the client-side tests: a `Client` of the module's apiserver and a fresh namespace per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apimachinery.client import Client
from apimachinery.errors import StatusError
from tests.harness import ApiServer
from tests.integration.client.helpers import make_namespace
from tests.resources import NAMESPACES


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
