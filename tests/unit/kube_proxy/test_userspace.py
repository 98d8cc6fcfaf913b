"""Userspace mode's choice of endpoint, and its byte pipe, on loopback sockets (no addresses added anywhere)."""

from __future__ import annotations

import asyncio

from kube_proxy.servicemap import Endpoint
from kube_proxy.splice import Listener, Splice
from kube_proxy.userspace import Backend

EPS = [Endpoint("10.244.1.2", 80), Endpoint("10.244.1.3", 80), Endpoint("10.244.1.4", 80)]


def test_round_robin_then_the_others_as_fallbacks() -> None:
    b = Backend("ns/web", list(EPS))
    firsts = [b.candidates("1.2.3.4")[0] for _ in range(6)]
    assert firsts == EPS + EPS
    assert b.candidates("1.2.3.4") == EPS  # the first, then the rest in order to try when it refuses
    assert Backend("ns/none").candidates("1.2.3.4") == []


def test_client_ip_affinity_sticks_until_timeout_or_endpoint_gone() -> None:
    b = Backend("ns/web", list(EPS), affinity_seconds=60)
    first = b.candidates("1.1.1.1")[0]
    b.used("1.1.1.1", first)
    assert all(b.candidates("1.1.1.1")[0] == first for _ in range(5))
    assert b.candidates("2.2.2.2")[0] != first or len(EPS) == 1  # others still rotate
    b.endpoints = [ep for ep in EPS if ep != first]
    assert b.candidates("1.1.1.1")[0] != first


async def _echo_server() -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the proxy passes on our client's EOF
        writer.write(b"echo:" + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_splice_copies_both_ways_with_half_close_and_skips_a_dead_endpoint() -> None:
    echo, port = await _echo_server()
    dead = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = dead.sockets[0].getsockname()[1]
    dead.close()
    await dead.wait_closed()
    backend = Backend("ns/echo", [Endpoint("127.0.0.1", dead_port), Endpoint("127.0.0.1", port)])
    live: set[Splice] = set()
    listener = Listener(asyncio.get_running_loop(), ("127.0.0.1", 0), backend.route, live)
    proxy_port = listener.sock.getsockname()[1]
    try:
        for payload in (b"hello", b"x" * 5_000_000):  # the big one fills socket buffers: flow control
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
            writer.write(payload)
            writer.write_eof()
            got = await asyncio.wait_for(reader.read(), 10)
            assert got == b"echo:" + payload
            writer.close()
        for _ in range(100):  # both sides ended: the splice closed itself
            if not live:
                break
            await asyncio.sleep(0.01)
        assert not live
    finally:
        listener.close()
        echo.close()
        for conn in list(live):
            conn.close()


async def test_no_endpoint_closes_the_client() -> None:
    listener = Listener(asyncio.get_running_loop(), ("127.0.0.1", 0), Backend("ns/none").route, set())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.sock.getsockname()[1])
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        listener.close()
