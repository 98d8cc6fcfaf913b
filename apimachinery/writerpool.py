"""Clients to write with, lent one at a time, for a component that keeps many writes in flight (the scheduler's
binds, the hollow nodes' pod status writes).

Each client of the pool keeps one connection of its own: httpcore looks at every connection of a pool on each
request, so one shared pool holding the watches, the lease renewals and many writes costs CPU per request in
proportion to its idle connections (a quarter of the scheduler's profiled time). Borrowing a client is also the
bound on writes in flight: the pool is the semaphore.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import httpx

from apimachinery.client import Client


def one_connection_client(client: Client, verify: ssl.SSLContext | bool, user_agent: str) -> Client:
    """A client of the same apiserver and identity that keeps one connection (a pool of one costs no search)."""
    transport = httpx.AsyncHTTPTransport(
        verify=verify,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        trust_env=False,
    )
    return Client(client.config, user_agent=user_agent, transport=transport)


class WriterPool:
    """`clients`, or `shared` lent `size` times at once when no clients of their own are given."""

    def __init__(self, clients: list[Client] | None, shared: Client, size: int) -> None:
        self._free: asyncio.Queue[Client] = asyncio.Queue()
        for writer in clients or [shared] * size:
            self._free.put_nowait(writer)

    @contextlib.asynccontextmanager
    async def borrow(self) -> AsyncIterator[Client]:
        """A client to write with, once one of the writes in flight has finished."""
        writer = await self._free.get()
        try:
            yield writer
        finally:
            self._free.put_nowait(writer)
