"""Reads shared by the callers that ask for the same thing at the same time: while one read of a key is under way,
every other caller of that key awaits it instead of sending its own (30 new pods, one request)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedReads(Generic[K, V]):
    def __init__(self) -> None:
        self._reading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The result of the read of `key` under way, or of `read()` started now. A caller that is cancelled
        leaves the read running for the others."""
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.ensure_future(read())
            reading.add_done_callback(lambda task: self._done(key, task))
        return await asyncio.shield(reading)

    def _done(self, key: K, task: asyncio.Future[V]) -> None:
        if self._reading.get(key) is task:
            del self._reading[key]
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have gone (cancelled) before it failed
