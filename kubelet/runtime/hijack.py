"""Docker's hijacked streams for exec and attach, on asyncio: the engine answers `POST /exec/{id}/start` (and
`POST /containers/{id}/attach`) with 101 UPGRADED and then the connection carries the process's stdin one way and
its output the other way.

The Docker SDK blocks and reads ahead past the 101 headers into its own buffer; this module speaks that one
request itself over the engine's unix socket, so the bytes after the headers stay in the asyncio reader.

    open_stream(path, body)   the hijacked connection as a RawStream
    RawStream.read()          output: (stream, bytes) with stream 1 (stdout) or 2 (stderr); tty output is all 1
    RawStream.write / close_stdin / close
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from typing import Any

API_VERSION = "v1.41"
READ_SIZE = 256 * 1024
_HEADER = struct.Struct(">BxxxL")


class HijackError(Exception):
    """The engine refused the upgrade; the message is its explanation."""


def docker_socket_path() -> str:
    """The engine's unix socket from DOCKER_HOST (unix://...), else the default one."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://") :]
    if host:
        raise HijackError(f"exec and attach need the engine's unix socket; DOCKER_HOST is {host!r}")
    return "/var/run/docker.sock"


class RawStream:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, multiplexed: bool
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.multiplexed = multiplexed

    async def read(self) -> tuple[int, bytes] | None:
        """The next piece of output, None at its end."""
        if not self.multiplexed:
            data = await self.reader.read(READ_SIZE)
            return (1, data) if data else None
        try:
            header = await self.reader.readexactly(_HEADER.size)
        except asyncio.IncompleteReadError:
            return None
        stream, size = _HEADER.unpack(header)
        try:
            payload = await self.reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            payload = exc.partial
        return (stream if stream in (1, 2) else 1), payload

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close_stdin(self) -> None:
        """End of file on the process's stdin (a half-close: the output keeps coming)."""
        if self.writer.can_write_eof() and not self.writer.is_closing():
            self.writer.write_eof()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:  # the engine closed first: nothing left to close
            pass


async def open_stream(
    path: str, body: dict[str, Any] | None, *, multiplexed: bool, timeout: float = 10.0
) -> RawStream:
    """POST `path` (under the API version) with a JSON `body`, asking for the connection to be hijacked."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_unix_connection(docker_socket_path(), limit=READ_SIZE * 2), timeout
    )
    payload = json.dumps(body).encode() if body is not None else b""
    request = (
        f"POST /{API_VERSION}{path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: kubelite-kubelet\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
        writer.close()
        raise HijackError(f"the container engine did not answer: {exc}") from exc
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if code not in (101, 200):
        explanation = await _error_body(reader, head)
        writer.close()
        raise HijackError(explanation or status_line)
    return RawStream(reader, writer, multiplexed=multiplexed)


async def _error_body(reader: asyncio.StreamReader, head: bytes) -> str:
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = min(int(value.strip()), 64 * 1024)
    try:
        raw = await asyncio.wait_for(reader.readexactly(length), 5.0) if length else b""
    except (asyncio.IncompleteReadError, TimeoutError):
        return ""
    try:
        return str(json.loads(raw).get("message", "")).strip()
    except (ValueError, AttributeError):
        return raw.decode(errors="replace").strip()
