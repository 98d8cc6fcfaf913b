"""`kctl port-forward TYPE/NAME [LOCAL:]REMOTE...`: listen on 127.0.0.1 and carry every accepted connection
over its own pods/portforward WebSocket (v4.channel.k8s.io: data on channel 0, errors on channel 1, each
channel's first two bytes the port number), as the Python client does; kubectl tunnels SPDY instead.

A service or workload resolves to one of its running pods, and a service port to its target port (a named
target port to the container port of that name), as kubectl resolves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import typer
import websockets

from apimachinery import channels
from apimachinery.client import Client
from apimachinery.resources import resolve
from cli import streaming
from cli.errors import CLIError
from cli.logs import pods_for
from cli.session import current_namespace, run
from cli.targets import builtin

app = typer.Typer()

PROTOCOLS = (channels.V4,)


def parse_mapping(text: str) -> tuple[int, str]:
    """(local port, remote port or name) of `8080`, `8080:80`, `:80`."""
    local, sep, remote = text.partition(":")
    remote = remote if sep else local
    local = local if local else "0"
    if not local.isdigit() or not 0 <= int(local) <= 65535 or not remote:
        raise CLIError(f"invalid port mapping {text!r}")
    return int(local), remote


def container_port(pod: dict[str, Any], name_or_number: str) -> int:
    if name_or_number.isdigit():
        port = int(name_or_number)
        if not 1 <= port <= 65535:
            raise CLIError(f"invalid port {port}")
        return port
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == name_or_number:
                return int(p["containerPort"])
    raise CLIError(f"pod {pod['metadata']['name']} does not have a named port '{name_or_number}'")


async def service_target(client: Client, name: str, ns: str, port: str) -> str:
    svc_res = resolve("services")
    assert svc_res is not None
    svc = await client.get(svc_res, name, ns)
    for p in (svc.get("spec") or {}).get("ports") or []:
        if str(p.get("port")) == port or p.get("name") == port:
            return str(p.get("targetPort") or p.get("port"))
    raise CLIError(f"Service {name} does not have a service port {port}")


async def forward_one(client: Client, path: str, remote: int, local: tuple[Any, Any]) -> None:
    reader, writer = local
    framing = channels.Framing(channels.V4)
    try:
        ws = await streaming.open_socket(client.config, path, [("ports", str(remote))], PROTOCOLS)
    except Exception as exc:  # reported per connection; the listener goes on
        print(f"error: {exc}", file=sys.stderr)
        writer.close()
        return
    seen: set[int] = set()

    async def upstream() -> None:
        while data := await reader.read(streaming.READ_SIZE):
            await ws.send(framing.encode(0, data))

    sending = asyncio.ensure_future(upstream())
    try:
        async for message in ws:
            channel, payload = framing.decode(message)
            if channel not in seen:  # the port number that opens every channel
                seen.add(channel)
                payload = payload[2:]
            if channel == 0 and payload:
                writer.write(payload)
                await writer.drain()
            elif channel == 1 and payload:
                print(
                    f"an error occurred forwarding to {remote}: {payload.decode(errors='replace')}",
                    file=sys.stderr,
                )
    except (websockets.ConnectionClosed, OSError):
        pass
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sending
        await ws.close()
        writer.close()


@app.command("port-forward")
def port_forward(
    target: str = typer.Argument(..., help="POD or TYPE/NAME (pod/x, svc/x, deploy/x)"),
    ports: list[str] = typer.Argument(..., help="[LOCAL_PORT:]REMOTE_PORT ..."),
    address: str = typer.Option("127.0.0.1", "--address", help="Local address to listen on (loopback only)"),
) -> None:
    """Forward one or more local ports to a pod."""
    if address not in ("127.0.0.1", "localhost"):
        raise CLIError("kctl port-forward listens on 127.0.0.1 only")
    mappings = [parse_mapping(p) for p in ports]

    async def go(client: Client) -> None:
        ns = current_namespace()
        kind, _, name = target.rpartition("/")
        res = resolve(kind) if kind else builtin("pods")
        if res is None:
            raise CLIError(f'the server doesn\'t have a resource type "{kind}"')
        pod = (await pods_for(client, [target if kind else f"pods/{name}"], None, ns))[0]
        phase = (pod.get("status") or {}).get("phase")
        if phase != "Running":
            raise CLIError(f"unable to forward port because pod is not running. Current status={phase}")
        path = builtin("pods").object_path(pod["metadata"]["name"], ns, "portforward")
        servers = []
        for local, remote in mappings:
            if res.resource == "services":
                remote = await service_target(client, name, ns, remote)
            number = container_port(pod, remote)

            def handler(r: Any, w: Any, number: int = number) -> Any:
                return forward_one(client, path, number, (r, w))

            server = await asyncio.start_server(handler, "127.0.0.1", local)
            bound = server.sockets[0].getsockname()[1]
            print(f"Forwarding from 127.0.0.1:{bound} -> {number}", flush=True)
            servers.append(server)
        await asyncio.gather(*(s.serve_forever() for s in servers))

    with contextlib.suppress(KeyboardInterrupt):
        run(go)
