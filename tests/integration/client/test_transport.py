"""apimachinery.transport: requests through aiohttp fail with the httpx errors httpcore raises for the same failure,
and a watch's connection is closed whenever its request is cancelled, against real sockets on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from apimachinery.client import Client
from apimachinery.kubeconfig import ClientConfig
from apimachinery.transport import aiohttp_transport
from tests.harness import free_port
from tests.resources import CONFIGMAPS

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def _never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await reader.read()  # until the client gives up and closes
    writer.close()


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
    )
    await writer.drain()
    writer.close()


@pytest.fixture
async def hangs_up() -> AsyncIterator[str]:
    async for url in _serve(_hang_up):
        yield url


@pytest.fixture
async def never_answers() -> AsyncIterator[str]:
    async for url in _serve(_never_answer):
        yield url


@pytest.fixture
async def answers() -> AsyncIterator[str]:
    async for url in _serve(_answer):
        yield url


def _client(timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=aiohttp_transport(False, connections=0), timeout=timeout)


async def test_an_answer_comes_back_as_an_httpx_response(answers: str) -> None:
    async with _client() as http:
        resp = await http.get(f"{answers}/x")
    assert (resp.status_code, resp.headers["content-type"], resp.json()) == (
        200,
        "application/json",
        {"ok": True},
    )


async def test_a_refused_connection_is_a_connect_error_that_says_refused() -> None:
    port = free_port()  # nothing listens there
    async with _client() as http:
        with pytest.raises(httpx.ConnectError, match="refused") as err:
            await http.get(f"http://127.0.0.1:{port}/")
    assert not isinstance(err.value, httpx.TimeoutException)
    assert err.value.request.url.port == port


async def test_a_server_that_hangs_up_without_answering_is_a_remote_protocol_error(hangs_up: str) -> None:
    async with _client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await http.get(f"{hangs_up}/")


async def test_no_answer_within_the_read_timeout_is_a_read_timeout(never_answers: str) -> None:
    async with _client(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{never_answers}/")


async def test_a_watch_cancelled_during_its_tls_handshake_closes_its_connection() -> None:
    # A server that accepts the connection and never answers the client's TLS hello, so the watch is cancelled in
    # the middle of its handshake (an informer stopped right after it listed). httpcore leaves such a socket open.
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    server = await asyncio.start_server(
        lambda reader, writer: accepted.put_nowait((reader, writer)), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    try:
        async with Client(ClientConfig(server=f"https://127.0.0.1:{port}", insecure=True)) as client:
            watch = client.watch(CONFIGMAPS)
            task = asyncio.create_task(anext(watch))
            reader, writer = await asyncio.wait_for(accepted.get(), 5)
            await reader.readexactly(1)  # the hello has started to arrive: the handshake is under way
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The client's end is closed at once, not left to the garbage collector: the server reads to the end.
            await asyncio.wait_for(reader.read(), 5)
            writer.close()
    finally:
        server.close()
        await server.wait_closed()
