"""Clients to write with, lent one at a time, for a component that keeps many writes in flight (the scheduler's
binds, the hollow nodes' pod status writes).

Each client of the pool keeps one connection of its own: httpcore looks at every connection of a pool on each
request, so one shared pool holding the watches, the lease renewals and many writes costs CPU per request in
proportion to its idle connections (a quarter of the scheduler's profiled time). Borrowing a client is also the
bound on writes in flight: the pool is the semaphore.

The writers send through aiohttp (httpx_aiohttp's transport under the same httpx client, so requests, responses,
errors and client metrics are the same): its HTTP parser is compiled and its TLS runs in the event loop's
transport, where httpcore parses with h11 and pumps TLS through a memory BIO in Python. A small JSON write over
TLS costs the client ~0.3 ms of CPU that way against ~0.5 ms (measured on this 2-core machine), and these are the
requests a component sends most: bindings, pod status, events.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

from apimachinery.client import Client, aiohttp_transport


def one_connection_client(client: Client, verify: ssl.SSLContext | bool, user_agent: str) -> Client:
    """A client of the same apiserver and identity that keeps one connection (a pool of one costs no search)."""
    return Client(client.config, user_agent=user_agent, transport=aiohttp_transport(verify, connections=1))


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
