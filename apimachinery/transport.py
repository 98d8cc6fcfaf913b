"""The network under `apimachinery.client.Client`: httpx's requests sent through aiohttp, and its watches through
httpx's own transport made safe to cancel.

httpx stays the client (requests, responses, timeouts, event hooks, the errors callers catch); `httpx_aiohttp`'s
transport hands each request to an aiohttp session. That is for the CPU: aiohttp parses HTTP in compiled code and
runs TLS in the event loop's transport, where httpcore parses with h11 and pumps TLS through a memory BIO in
Python. A small request over TLS to the apiserver costs the client ~0.4 ms of CPU this way against ~0.65 ms
(measured on this 2-core machine), and every component spends most of its CPU on such requests and on watches.

aiohttp's failures are raised as the httpx errors httpcore raises for the same failure, so that callers (and
kctl's kubectl-style error lines) cannot tell the difference: a refused connection is a `ConnectError` that says
so, a connect timeout a `ConnectTimeout`, a read timeout a `ReadTimeout`, a server that closed the connection
without answering a `RemoteProtocolError`. (httpx_aiohttp's own table makes every connection failure a
`ConnectTimeout`.)

The watches' transport is httpx's own, over a network backend that closes a connection whose TLS handshake is
cancelled: httpcore closes it only when the handshake fails, so a watch cancelled mid-handshake (an informer stopped
just after it listed) left its socket open until the server hung up.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import aiohttp
import httpcore
import httpx
from httpx_aiohttp import AiohttpTransport

# A connection closed in the middle of a body (a watch stopped early) ends its TLS session after the pool has let
# go of it; on Pythons whose SSL transports may never finish closing (before 3.12.7) the pool keeps such
# transports and aborts them when it closes, or they would outlive the event loop unclosed.
_CLEANUP_CLOSED = getattr(aiohttp.connector, "NEEDS_CLEANUP_CLOSED", True)


def _as_httpcore_raises(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """The httpx error httpcore raises for the aiohttp failure behind `exc` (`exc` itself when none fits)."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(cause) or "timed out connecting", request=request)
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(str(cause) or "timed out reading", request=request)
    if isinstance(cause, aiohttp.ClientConnectorError):
        if isinstance(cause.os_error, ConnectionRefusedError):
            return httpx.ConnectError(f"connection refused by {cause.host}:{cause.port}", request=request)
        return httpx.ConnectError(str(cause.os_error) or str(cause), request=request)
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    if isinstance(cause, aiohttp.ClientOSError):
        return httpx.ReadError(str(cause), request=request)
    return exc


class _Transport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.TransportError as exc:
            translated = _as_httpcore_raises(exc, request)
            if translated is exc:
                raise
            raise translated from exc.__cause__


def aiohttp_transport(tls: ssl.SSLContext | bool, *, connections: int) -> httpx.AsyncBaseTransport:
    """A transport that keeps at most `connections` connections (0: no bound), verifying and presenting with
    `tls` (a context: its current client certificate goes on every new connection)."""

    def session() -> aiohttp.ClientSession:  # made at the first request, inside the running loop
        connector = aiohttp.TCPConnector(ssl=tls, limit=connections, enable_cleanup_closed=_CLEANUP_CLOSED)
        return aiohttp.ClientSession(connector=connector, trust_env=False)

    return _Transport(client=session)


class _CancelSafeStream(httpcore.AsyncNetworkStream):
    """A connection that is closed when its TLS handshake ends in anything but success, cancellation included."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._stream.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            await self._stream.aclose()  # drops the socket at once (a second close is a no-op)
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _CancelSafeBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CancelSafeStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _WatchTransport(httpx.AsyncHTTPTransport):
    def __init__(self, tls: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        super().__init__(verify=False, limits=limits, trust_env=False)  # its pool is replaced at once:
        # httpx's transport over a pool of our making, for the network backend (httpx's pool takes the default).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=tls, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CancelSafeBackend(),
        )


def watch_transport(tls: ssl.SSLContext | bool, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """httpx's own transport (for watches) keeping at most `limits`, verifying and presenting with `tls`, whose
    connections are closed when their TLS handshake is cancelled."""
    return _WatchTransport(tls, limits)
