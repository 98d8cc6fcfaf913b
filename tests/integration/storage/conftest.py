"""Fixtures for the storage conformance suite: every backend behind one `storage` fixture, and helpers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from apiserver.storage.interface import Storage
from tests.integration.storage.helpers import BACKENDS, EventCollector, open_backend


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Storage]:
    """Opens another client of the same store (on etcd: the session's shared server, so tests use `prefix`)."""
    etcd = request.getfixturevalue("etcd") if request.param == "etcd" else None
    return lambda: open_backend(request.param, etcd, tmp_path)


@pytest.fixture
async def storage(opener: Callable[[], Storage]) -> AsyncIterator[Storage]:
    store = opener()
    yield store
    await store.close()


@pytest.fixture(params=BACKENDS)
async def private_storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A backend of the test's own, for tests that compact history (which would disturb other tests on a shared
    etcd)."""
    etcd = request.getfixturevalue("private_etcd") if request.param == "etcd" else None
    store = open_backend(request.param, etcd, tmp_path)
    yield store
    await store.close()


@pytest.fixture
def prefix() -> str:
    return f"/registry/storagetest-{uuid.uuid4().hex[:10]}/"


@pytest.fixture
async def collectors() -> AsyncIterator[list[EventCollector]]:
    """Watch collectors created by a test, cancelled at its end even when it fails."""
    made: list[EventCollector] = []
    yield made
    for collector in made:
        await collector.close()


@pytest.fixture
def watch(collectors: list[EventCollector]) -> Any:
    """`watch(storage, prefix, from_revision)` -> an EventCollector already consuming."""

    def start(store: Storage, key_prefix: str, from_revision: int = 0) -> EventCollector:
        collector = EventCollector(store.watch(key_prefix, from_revision))
        collectors.append(collector)
        return collector

    return start
