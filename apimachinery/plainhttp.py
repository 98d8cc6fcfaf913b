"""A minimal HTTP/1.1 responder for the small servers that need no web framework (a component's health and metrics
endpoint, the hollow nodes' kubelet API): one request per connection, answered, then the connection is closed.

    server = await asyncio.start_server(connection_handler(respond), host, port, ssl=context)

`respond(method, target, head, writer)` returns (status, content type, body); the body is left out for HEAD. A
client that hangs up, sends garbage, is too slow (`timeout`) or fails the TLS handshake gets nothing.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from http import HTTPStatus

TEXT = "text/plain; charset=utf-8"

Answer = tuple[int, str, bytes]  # status, content type, body
Respond = Callable[[str, str, bytes, asyncio.StreamWriter], Awaitable[Answer]]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

_HANGUPS = (
    TimeoutError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ConnectionError,
    ssl.SSLError,
)


def response(code: int, content_type: str, body: bytes, *, head_only: bool = False) -> bytes:
    """The bytes of a whole `Connection: close` response."""
    return (
        f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + (b"" if head_only else body)


def connection_handler(respond: Respond, *, timeout: float = 10.0) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(timeout):
                head = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = head.decode("latin-1").partition(" ")
            code, content_type, body = await respond(method, rest.partition(" ")[0], head, writer)
            writer.write(response(code, content_type, body, head_only=method == "HEAD"))
            await writer.drain()
        except _HANGUPS:
            pass  # a client that hung up, sent garbage or failed the handshake gets nothing
        finally:
            writer.close()

    return handle
