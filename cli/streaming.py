"""kctl's side of pods/exec, pods/attach and pods/portforward: a WebSocket to the apiserver with the cluster's
credentials, in the channel framing (apimachinery.channels).

    open_socket(config, path, query, protocols)    the connection; a refused upgrade becomes the server's Status
    run_session(ws, stdin=, stdout=, stderr=, ...)  copy the local streams over it; the remote exit code
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from apimachinery import channels, errors
from apimachinery.kubeconfig import ClientConfig

READ_SIZE = 64 * 1024


async def open_socket(
    config: ClientConfig, path: str, query: list[tuple[str, str]], protocols: tuple[str, ...]
) -> ClientConnection:
    url = config.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + path
    if query:
        url += "?" + urlencode(query)
    headers = {"Authorization": f"Bearer {config.token}"} if config.token else None
    ssl = config.ssl_context() if url.startswith("wss://") else None
    try:
        return await connect(
            url,
            ssl=ssl if not isinstance(ssl, bool) else None,
            additional_headers=headers,
            subprotocols=[Subprotocol(p) for p in protocols],
            max_size=16 * 1024 * 1024,
            compression=None,
            open_timeout=30,
            proxy=None,
        )
    except websockets.InvalidStatus as exc:
        raise _status_of(exc) from None


def _status_of(exc: websockets.InvalidStatus) -> errors.StatusError:
    code = exc.response.status_code
    try:
        body = json.loads(exc.response.body or b"{}")
    except ValueError:
        body = {}
    if isinstance(body, dict) and body.get("kind") == "Status":
        return errors.StatusError(code, str(body.get("reason") or ""), str(body.get("message") or ""))
    return errors.StatusError(code, "Unknown", (exc.response.body or b"").decode(errors="replace").strip())


class RemoteError(Exception):
    """The error channel reported a failure that is not an exit code (it could not start, ...)."""


async def run_session(
    ws: ClientConnection,
    *,
    stdin: IO[bytes] | None,
    stdout: IO[bytes],
    stderr: IO[bytes],
    resize: Callable[[], tuple[int, int] | None] | None = None,
) -> int:
    """Copy `stdin` in and the output out until the remote side closes; the remote exit code."""
    framing = channels.Framing(ws.subprotocol or channels.V4)
    status: list[bytes] = []
    loop = asyncio.get_running_loop()

    async def send_stdin() -> None:
        assert stdin is not None
        while data := await loop.run_in_executor(None, _read_some, stdin):
            await ws.send(framing.encode(channels.STDIN, data))
        if framing.has_close:
            await ws.send(framing.encode(channels.CLOSE, bytes((channels.STDIN,))))

    async def send_sizes() -> None:
        assert resize is not None
        last = None
        while True:
            size = resize()
            if size is not None and size != last:
                payload = json.dumps({"Width": size[0], "Height": size[1]}).encode()
                await ws.send(framing.encode(channels.RESIZE, payload))
                last = size
            await asyncio.sleep(0.25)

    senders = []
    if stdin is not None:
        senders.append(asyncio.ensure_future(send_stdin()))
    if resize is not None:
        senders.append(asyncio.ensure_future(send_sizes()))
    try:
        async for message in ws:
            channel, payload = framing.decode(message)
            if channel == channels.STDOUT:
                _write(stdout, payload)
            elif channel == channels.STDERR:
                _write(stderr, payload)
            elif channel == channels.ERROR:
                status.append(payload)
    except websockets.ConnectionClosedError:
        pass
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
    if not status:
        return 0
    code, message = channels.exit_code_of(b"".join(status))
    if code is None:
        raise RemoteError(message)
    return code


def _read_some(stream: IO[bytes]) -> bytes:
    """Whatever is available (up to READ_SIZE), without waiting for a whole buffer: interactive input."""
    try:
        return os.read(stream.fileno(), READ_SIZE)
    except (AttributeError, OSError, ValueError):
        return stream.read(READ_SIZE)


def _write(stream: IO[bytes], data: bytes) -> None:
    stream.write(data)
    stream.flush()


def stdio() -> tuple[IO[bytes], IO[bytes], IO[bytes]]:
    return sys.stdin.buffer, sys.stdout.buffer, sys.stderr.buffer


def query_pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Query pairs; lists repeat their key (command=a&command=b), booleans are true/false."""
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, ("true" if item else "false") if isinstance(item, bool) else str(item)))
    return pairs
