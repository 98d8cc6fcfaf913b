"""A bound on a component's writes in flight (the scheduler's binds, the kubelet's and the hollow nodes' pod status
writes): a write borrows the client, and at most `size` borrow it at once.

The writes share the component's client: its requests go through aiohttp on connections of their own
(apimachinery.transport), apart from the watches, so a write neither searches among the watches' connections nor
waits behind them. (Before, with httpcore under every request, each writer had a client of one connection of its
own: httpcore looks at every connection of its pool on each request.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from apimachinery.client import Client


class WriterPool:
    """`client`, lent `size` times at once."""

    def __init__(self, client: Client, size: int) -> None:
        self._client = client
        self._free = asyncio.Semaphore(max(1, size))

    @contextlib.asynccontextmanager
    async def borrow(self) -> AsyncIterator[Client]:
        """The client to write with, once one of the writes in flight has finished."""
        async with self._free:
            yield self._client
