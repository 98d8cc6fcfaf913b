"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections on raw asyncio streams.

On a 2-core machine the load generator competes with the server for CPU; httpx spends a few milliseconds of CPU
per request, which would cap what a benchmark can show at the client's speed, not the server's. This client only
writes a request and reads `Content-Length` bytes back, a few tens of microseconds per request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable

from bench.common import open_connection


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept: application/json\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        chunked = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            return status, b"".join(parts)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def connect(url: str, tls: ssl.SSLContext | None = None) -> Connection:
    return Connection(*await open_connection(url, tls))


async def run(
    url: str,
    n: int,
    concurrency: int,
    make: Callable[[int], tuple[str, str, bytes]],
    expect: int,
    *,
    tls: ssl.SSLContext | None = None,
) -> float:
    """Send `n` requests (`make(i)` -> method, path, body) over `concurrency` keep-alive connections (TLS with
    `tls`: ControlPlane.tls()); requests/s. Any answer other than `expect` raises."""
    counter = iter(range(n))
    conns = [await connect(url, tls) for _ in range(concurrency)]

    async def worker(conn: Connection) -> None:
        for i in counter:
            method, path, body = make(i)
            status, payload = await conn.request(method, path, body)
            if status != expect:
                raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    return n / (time.perf_counter() - start)
