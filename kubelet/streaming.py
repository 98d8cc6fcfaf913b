"""exec and attach on the kubelet's API: a WebSocket in the channel framing (apimachinery.channels) joined to a
Docker exec (or attach) stream (kubelet.runtime.hijack).

    /exec/{namespace}/{pod}/{container}?command=..&command=..&input=1&output=1&error=1&tty=1
    /attach/{namespace}/{pod}/{container}?input=1&output=1&error=1&tty=1

(the kubelet's own parameter names; the apiserver's pods/exec translates stdin/stdout/stderr to them).

A session ends when the process's output ends (then the error channel carries its exit status and the socket
closes normally) or when the client goes away (then an exec's process is killed, so nothing is left running for
nobody, and the engine's stream is closed), or after IDLE_TIMEOUT without a byte either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from apimachinery import channels
from kubelet.metrics import KubeletMetrics
from kubelet.runtime.docker import (
    DockerRuntime,
    RuntimeFailure,
)
from kubelet.runtime.hijack import HijackError, RawStream, open_stream

log = logging.getLogger("kubelet.streaming")

IDLE_TIMEOUT = 4 * 3600.0  # the kubelet's streamingConnectionIdleTimeout default
EXIT_WAIT = 5.0  # how long the engine may take to report an exec's exit code after its output ended
Resize = Callable[[int, int], Awaitable[None]]


def flag(ws: WebSocket, name: str) -> bool:
    return ws.query_params.get(name, "").lower() in ("1", "true")


async def find_container(runtime: DockerRuntime, namespace: str, pod: str, container: str) -> str | None:
    """The id of the pod's newest running container of that name."""
    running = [
        e for e in await runtime.containers_named(namespace, pod, container) if e.get("State") == "running"
    ]
    return str(running[0]["Id"]) if running else None


async def deny(ws: WebSocket, code: int, text: str) -> None:
    """Refuse the upgrade with a plain HTTP answer (as the kubelet answers errors)."""
    await ws.send_denial_response(PlainTextResponse(text, status_code=code))


async def handle_exec(ws: WebSocket, runtime: DockerRuntime, metrics: KubeletMetrics) -> None:
    ns, pod, name = ws.path_params["namespace"], ws.path_params["pod"], ws.path_params["container"]
    command = ws.query_params.getlist("command")
    stdin, tty = flag(ws, "input"), flag(ws, "tty")
    protocol = channels.negotiate(ws.scope.get("subprotocols") or [], channels.EXEC_PROTOCOLS)
    if protocol is None:
        await deny(ws, 400, "exec needs one of the subprotocols " + ", ".join(channels.EXEC_PROTOCOLS))
        return
    if not command:
        await deny(ws, 400, "you must specify at least 1 command")
        return
    container_id = await find_container(runtime, ns, pod, name)
    if container_id is None:
        await deny(ws, 404, f'container "{name}" in pod "{pod}" is not running')
        return
    try:
        exec_id = await runtime.exec_create(container_id, command, stdin=stdin, tty=tty)
    except RuntimeFailure as exc:
        await deny(ws, 500, f"cannot exec in the container: {exc}")
        return
    await ws.accept(subprotocol=protocol)
    framing = channels.Framing(protocol)
    with counted(metrics, "exec"):
        try:
            stream = await open_stream(
                f"/exec/{exec_id}/start", {"Detach": False, "Tty": tty}, multiplexed=not tty
            )
        except HijackError as exc:
            await finish(ws, framing, channels.failure_status(str(exc)), None)
            return

        async def resize(width: int, height: int) -> None:
            await runtime.exec_resize(exec_id, width=width, height=height)

        ended = await relay(ws, framing, stream, resize)
        if not ended:  # the client went away: do not leave its process running
            await _kill_exec(runtime, exec_id, container_id)
            return
        code = await _exec_exit_code(runtime, exec_id)
        await finish(ws, framing, channels.exit_status(code), code)


async def handle_attach(ws: WebSocket, runtime: DockerRuntime, metrics: KubeletMetrics) -> None:
    ns, pod, name = ws.path_params["namespace"], ws.path_params["pod"], ws.path_params["container"]
    protocol = channels.negotiate(ws.scope.get("subprotocols") or [], channels.EXEC_PROTOCOLS)
    if protocol is None:
        await deny(ws, 400, "attach needs one of the subprotocols " + ", ".join(channels.EXEC_PROTOCOLS))
        return
    container_id = await find_container(runtime, ns, pod, name)
    if container_id is None:
        await deny(ws, 404, f'container "{name}" in pod "{pod}" is not running')
        return
    config = (await runtime.inspect_raw(container_id)).get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = flag(ws, "input") and bool(config.get("OpenStdin"))
    await ws.accept(subprotocol=protocol)
    framing = channels.Framing(protocol)
    with counted(metrics, "attach"):
        query = f"stream=1&stdout=1&stderr=1&stdin={int(stdin)}"
        try:
            stream = await open_stream(
                f"/containers/{container_id}/attach?{query}", None, multiplexed=not tty
            )
        except HijackError as exc:
            await finish(ws, framing, channels.failure_status(str(exc)), None)
            return

        async def resize(width: int, height: int) -> None:
            await runtime.resize(container_id, width=width, height=height)

        if not await relay(ws, framing, stream, resize):
            return  # the client detached; the container goes on
        state = await _wait_exited(runtime, container_id)
        code = int(state.get("ExitCode") or 0)
        await finish(ws, framing, channels.exit_status(code), code)


async def relay(ws: WebSocket, framing: channels.Framing, stream: RawStream, resize: Resize) -> bool:
    """Copy both ways until the output ends (True) or the client goes away or idles out (False)."""
    last = [time.monotonic()]

    async def from_client() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            last[0] = time.monotonic()
            data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
            try:
                channel, payload = framing.decode(data or b"")
            except channels.FrameError:
                continue  # upstream logs and goes on; a frame it cannot read changes nothing
            await _to_process(stream, channel, payload, resize)

    async def to_client() -> None:
        while (item := await stream.read()) is not None:
            last[0] = time.monotonic()
            await _send(ws, framing.encode(item[0], item[1]))

    async def idle() -> None:
        while time.monotonic() - last[0] < IDLE_TIMEOUT:
            await asyncio.sleep(min(60.0, IDLE_TIMEOUT))

    output = asyncio.ensure_future(to_client())
    tasks = {output, asyncio.ensure_future(from_client()), asyncio.ensure_future(idle())}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await stream.close()
    return output in done and output.exception() is None


async def _to_process(stream: RawStream, channel: int, payload: bytes, resize: Resize) -> None:
    try:
        if channel == channels.STDIN and payload:
            await stream.write(payload)
        elif channel == channels.RESIZE:
            size = channels.parse_resize(payload)
            if size is not None:
                await resize(*size)
        elif channel == channels.CLOSE and payload[:1] == bytes((channels.STDIN,)):
            stream.close_stdin()
    except (OSError, RuntimeFailure) as exc:
        # The process stopped reading (or exited): its output side reports the end.
        log.debug("stdin or resize not delivered: %s", exc)


async def _send(ws: WebSocket, message: bytes | str) -> None:
    if isinstance(message, str):
        await ws.send_text(message)
    else:
        await ws.send_bytes(message)


async def finish(ws: WebSocket, framing: channels.Framing, status: dict[str, Any], code: int | None) -> None:
    """The error channel's last word, then a normal close. v1 protocols only get a message, and only on failure."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        if framing.has_exit_code:
            await _send(ws, framing.encode(channels.ERROR, json.dumps(status).encode()))
        elif code != 0:
            await _send(ws, framing.encode(channels.ERROR, str(status.get("message", "")).encode()))
        await ws.close(1000)


async def _exec_exit_code(runtime: DockerRuntime, exec_id: str) -> int:
    deadline = time.monotonic() + EXIT_WAIT
    while True:
        state = await runtime.exec_inspect(exec_id)
        if not state.get("Running") and state.get("ExitCode") is not None:
            return int(state["ExitCode"])
        if time.monotonic() > deadline:
            return 126 if state.get("ExitCode") is None else int(state["ExitCode"])
        await asyncio.sleep(0.02)


async def _wait_exited(runtime: DockerRuntime, container_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + EXIT_WAIT
    while True:
        state = (await runtime.inspect_raw(container_id)).get("State") or {}
        if not state.get("Running") or time.monotonic() > deadline:
            return dict(state)
        await asyncio.sleep(0.02)


async def _kill_exec(runtime: DockerRuntime, exec_id: str, container_id: str) -> None:
    """SIGKILL the exec's process if it still runs, after checking that its pid is still in this container's
    cgroup (a pid can be reused once the process is gone)."""
    try:
        state = await runtime.exec_inspect(exec_id)
    except RuntimeFailure:
        return
    pid = state.get("Pid")
    if not state.get("Running") or not isinstance(pid, int) or pid <= 1:
        return
    try:
        if container_id not in await asyncio.to_thread(Path(f"/proc/{pid}/cgroup").read_text):
            return
        os.kill(pid, signal.SIGKILL)
        log.info("killed an exec whose client went away", extra={"exec": exec_id[:12], "pid": pid})
    except (OSError, ValueError):  # gone already, or not ours to kill
        return


@contextlib.contextmanager
def counted(metrics: KubeletMetrics, kind: str) -> Any:
    metrics.streaming_sessions_total.labels(kind).inc()
    metrics.streaming_sessions.labels(kind).inc()
    try:
        yield
    finally:
        metrics.streaming_sessions.labels(kind).dec()
