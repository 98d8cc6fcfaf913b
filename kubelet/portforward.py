"""port-forward on the kubelet's API: /portForward/{namespace}/{pod}, a WebSocket whose connections reach
127.0.0.1:<port> inside the pod's network namespace (kubelet.netns), with no host port.

Two framings, chosen by subprotocol:
* `SPDY/3.1+portforward.k8s.io` (kubectl >= 1.31): SPDY inside the WebSocket's binary messages. For every local
  connection kubectl opens an error stream and a data stream with the same `requestid` header and the `port`
  header; once both exist the kubelet connects and copies the data stream both ways (a FIN from either side is a
  half-close), and writes a failure to the error stream.
* the channel protocols (`v4.channel.k8s.io`, `portforward.k8s.io`, base64; the Python client): the ports are
  the `port` query parameters, one connection each for the socket's life (apimachinery.channels).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from apimachinery import channels, spdy
from kubelet import netns
from kubelet.metrics import KubeletMetrics
from kubelet.runtime.docker import (
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_TYPE,
    TYPE_SANDBOX,
    DockerRuntime,
)
from kubelet.streaming import counted, deny

log = logging.getLogger("kubelet.portforward")

CHUNK = 256 * 1024


async def sandbox_netns(runtime: DockerRuntime, namespace: str, pod: str) -> str | None:
    for entry in await runtime.list_ids():
        labels = entry.get("Labels") or {}
        if (
            labels.get(LABEL_TYPE) == TYPE_SANDBOX
            and labels.get(LABEL_POD_NAMESPACE) == namespace
            and labels.get(LABEL_POD_NAME) == pod
            and entry.get("State") == "running"
        ):
            info = await runtime.inspect(entry["Id"])
            if info is not None and info.pid > 1:
                return netns.sandbox_netns(info.pid)
    return None


def parse_ports(values: list[str]) -> list[int] | None:
    ports = []
    for value in values:
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            return None
        ports.append(int(value))
    return ports


async def handle_port_forward(ws: WebSocket, runtime: DockerRuntime, metrics: KubeletMetrics) -> None:
    ns, pod = ws.path_params["namespace"], ws.path_params["pod"]
    protocol = channels.negotiate(ws.scope.get("subprotocols") or [], channels.PORT_FORWARD_PROTOCOLS)
    if protocol is None:
        await deny(ws, 400, "port-forward needs one of " + ", ".join(channels.PORT_FORWARD_PROTOCOLS))
        return
    ports = parse_ports(ws.query_params.getlist("port"))
    if ports is None or (protocol != channels.SPDY_TUNNEL_PORT_FORWARD and not ports):
        await deny(ws, 400, "port-forward needs one or more valid port query parameters (1-65535)")
        return
    path = await sandbox_netns(runtime, ns, pod)
    if path is None:
        await deny(ws, 404, f'pod "{pod}" in namespace "{ns}" has no running sandbox on this node')
        return
    await ws.accept(subprotocol=protocol)
    with counted(metrics, "portforward"):
        try:
            if protocol == channels.SPDY_TUNNEL_PORT_FORWARD:
                await SpdyForwarder(ws, path).run()
            else:
                await forward_channels(ws, channels.Framing(protocol), path, ports)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            log.debug("port-forward ended: %s", exc)
        finally:
            with contextlib.suppress(RuntimeError, OSError):
                await ws.close(1000)


async def forward_channels(ws: WebSocket, framing: channels.Framing, path: str, ports: list[int]) -> None:
    writers: list[asyncio.StreamWriter | None] = []
    pumps: list[asyncio.Task[None]] = []

    async def pump(index: int, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(CHUNK):
            await _send(ws, framing.encode(2 * index, data))

    for index, port in enumerate(ports):
        for channel in (2 * index, 2 * index + 1):
            await _send(ws, framing.encode(channel, channels.port_prefix(port)))
        try:
            reader, writer = await netns.connect(path, port)
        except OSError as exc:
            await _send(ws, framing.encode(2 * index + 1, _failure(port, exc).encode()))
            writers.append(None)
            continue
        writers.append(writer)
        pumps.append(asyncio.ensure_future(pump(index, reader)))

    async def from_client() -> None:
        while (message := await ws.receive())["type"] != "websocket.disconnect":
            data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
            try:
                channel, payload = framing.decode(data or b"")
            except channels.FrameError:
                continue
            index = channel // 2
            writer = writers[index] if channel % 2 == 0 and index < len(writers) else None
            if writer is not None and payload:
                writer.write(payload)
                await writer.drain()

    reading = asyncio.ensure_future(from_client())
    try:
        # The socket lives until the client leaves or every pod connection has ended.
        all_done: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*pumps, return_exceptions=True))
        await asyncio.wait([reading, all_done], return_when=asyncio.FIRST_COMPLETED)
    finally:
        reading.cancel()
        for task in pumps:
            task.cancel()
        await asyncio.gather(reading, *pumps, return_exceptions=True)
        for left in writers:
            if left is not None:
                left.close()


@dataclass
class _Pair:
    port: int
    data: int = 0
    error: int = 0
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    client_done: bool = False  # the client's FIN (or RST) on the data stream
    pod_done: bool = False  # the pod's end of the connection reached the client


class SpdyForwarder:
    """One SPDY session inside a WebSocket: streams paired by requestid, each pair one connection into the pod."""

    def __init__(self, ws: WebSocket, path: str) -> None:
        self.ws = ws
        self.path = path
        self.parser = spdy.Parser()
        self.encoder = spdy.Encoder()
        self.pairs: dict[str, _Pair] = {}
        self.by_data: dict[int, _Pair] = {}
        self.last_stream = 0

    async def run(self) -> None:
        try:
            while (message := await self.ws.receive())["type"] != "websocket.disconnect":
                for frame in self.parser.feed(message.get("bytes") or b""):
                    if not await self.handle(frame):
                        return
        except spdy.ProtocolError as exc:
            log.info("port-forward: %s", exc)
        finally:
            for pair in self.pairs.values():
                if pair.task is not None:
                    pair.task.cancel()
                if pair.writer is not None:
                    pair.writer.close()

    async def handle(self, frame: spdy.Frame) -> bool:
        """Act on one frame; False when the session is over."""
        if isinstance(frame, spdy.Data):
            pair = self.by_data.get(frame.stream_id)
            if pair is not None:
                await pair.ready.wait()
                if pair.writer is not None and not pair.writer.is_closing():
                    with contextlib.suppress(OSError):
                        if frame.data:
                            pair.writer.write(frame.data)
                            await pair.writer.drain()
                        if frame.fin and pair.writer.can_write_eof():
                            pair.writer.write_eof()
                if frame.fin:
                    pair.client_done = True
                    self.forget(pair)
            return True
        if frame.type == spdy.SYN_STREAM:
            await self.open_stream(frame)
        elif frame.type == spdy.PING:
            await self.send(self.encoder.ping(frame.ping_id))
        elif frame.type == spdy.RST_STREAM:
            pair = self.by_data.get(frame.stream_id)
            if pair is not None:
                if pair.writer is not None:
                    pair.writer.close()
                pair.client_done = pair.pod_done = True
                self.forget(pair)
        elif frame.type == spdy.GOAWAY:
            return False
        return True

    async def open_stream(self, frame: spdy.Control) -> None:
        self.last_stream = max(self.last_stream, frame.stream_id)
        kind, request_id, port_text = (
            frame.header("streamtype"),
            frame.header("requestid"),
            frame.header("port"),
        )
        ports = parse_ports([port_text])
        if kind not in ("data", "error") or not ports:
            await self.send(self.encoder.rst(frame.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        await self.send(self.encoder.syn_reply(frame.stream_id))
        pair = self.pairs.setdefault(request_id, _Pair(ports[0]))
        if kind == "data":
            pair.data = frame.stream_id
            self.by_data[frame.stream_id] = pair
        else:
            pair.error = frame.stream_id
        if pair.data and pair.error and pair.task is None:
            pair.task = asyncio.ensure_future(self.forward(pair))

    def forget(self, pair: _Pair) -> None:
        """Drop a connection's streams once both ends are done (a session may carry many connections)."""
        if pair.client_done and pair.pod_done:
            self.by_data.pop(pair.data, None)
            for key, known in list(self.pairs.items()):
                if known is pair:
                    del self.pairs[key]
            if pair.writer is not None:
                pair.writer.close()

    async def forward(self, pair: _Pair) -> None:
        try:
            await self._copy_out(pair)
        finally:
            pair.pod_done = True
            self.forget(pair)

    async def _copy_out(self, pair: _Pair) -> None:
        try:
            reader, pair.writer = await netns.connect(self.path, pair.port)
        except OSError as exc:
            pair.ready.set()
            await self.send(self.encoder.data(pair.error, _failure(pair.port, exc).encode(), fin=True))
            await self.send(self.encoder.data(pair.data, b"", fin=True))
            return
        pair.ready.set()
        try:
            while data := await reader.read(CHUNK):
                await self.send(self.encoder.data(pair.data, data))
            await self.send(self.encoder.data(pair.data, b"", fin=True))
            await self.send(self.encoder.data(pair.error, b"", fin=True))
        except OSError as exc:
            with contextlib.suppress(OSError, RuntimeError):
                await self.send(self.encoder.data(pair.error, _failure(pair.port, exc).encode(), fin=True))

    async def send(self, frame: bytes) -> None:
        await self.ws.send_bytes(frame)


def _failure(port: int, exc: OSError) -> str:
    return (
        f"error forwarding port {port} to pod: failed to connect to localhost:{port} inside namespace: {exc}"
    )


async def _send(ws: WebSocket, message: bytes | str) -> None:
    if isinstance(message, str):
        await ws.send_text(message)
    else:
        await ws.send_bytes(message)
