"""A tiny TCP load balancer in front of the apiservers: `tcp_lb.py LISTEN_PORT BACKEND_HOST BACKEND_PORT`.

Each accepted connection resolves BACKEND_HOST afresh (a compose network alias shared by every apiserver, so
Docker's DNS answers with the live ones), tries the addresses in rotating order with a short connect timeout, and
then copies bytes both ways. TLS passes through untouched: clients verify the apiserver's certificate.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import sys

CONNECT_TIMEOUT = 2.0
_turn = itertools.count()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_STREAM)
    addrs = sorted({str(info[4][0]) for info in infos})
    if not addrs:
        raise OSError(f"{host} has no address")
    start = next(_turn) % len(addrs)
    last: Exception | None = None
    for addr in addrs[start:] + addrs[:start]:
        try:
            return await asyncio.wait_for(asyncio.open_connection(addr, port), CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            last = exc
    raise OSError(f"no backend of {host}:{port} answers: {last}")


def handler(host: str, port: int):  # type: ignore[no-untyped-def]
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            backend_r, backend_w = await _connect(host, port)
        except OSError as exc:
            print(f"drop connection: {exc}", file=sys.stderr, flush=True)
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, backend_w), _pipe(backend_r, client_w))

    return handle


async def main() -> None:
    listen_port, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    server = await asyncio.start_server(handler(host, port), "0.0.0.0", listen_port)
    print(f"forwarding :{listen_port} -> {host}:{port}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
