"""What the integration storage tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from apiserver.storage.etcd import EtcdStorage
from apiserver.storage.interface import Storage, WatchEvent
from apiserver.storage.sqlite import SqliteStorage
from tests.harness import Etcd

BACKENDS = [pytest.param("etcd", marks=pytest.mark.etcd), "sqlite"]


def open_backend(backend: str, etcd: Etcd | None, tmp_path: Path, **options: Any) -> Storage:
    # Compaction is driven by the tests; a background compactor must not touch the session etcd's history.
    options.setdefault("compaction_interval", 0)
    if backend == "etcd":
        assert etcd is not None
        return EtcdStorage(etcd.url, **options)
    return SqliteStorage(tmp_path / "data", **options)


def make_obj(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}, **fields}


def set_data(**data: Any) -> Callable[[dict[str, Any] | None], dict[str, Any]]:
    """A try_update for guaranteed_update that replaces the object's `data` (the key must exist)."""

    def update(obj: dict[str, Any] | None) -> dict[str, Any]:
        assert obj is not None
        return {**obj, "data": data}

    return update


def same(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A try_update that changes nothing."""
    assert obj is not None
    return obj


class EventCollector:
    """Consumes a storage watch in a task, so tests can wait for events with a deadline."""

    def __init__(self, stream: AsyncIterator[WatchEvent]) -> None:
        self.events: list[WatchEvent] = []
        self.error: BaseException | None = None
        self._stream = stream
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        try:
            async for event in self._stream:
                self.events.append(event)
                self._changed.set()
        except Exception as exc:
            self.error = exc
            self._changed.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[WatchEvent]:
        """The first `count` events; fails after `timeout` seconds or when the watch fails."""
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                if self.error is not None:
                    raise self.error
                self._changed.clear()
                await self._changed.wait()
        return self.events[:count]

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()
