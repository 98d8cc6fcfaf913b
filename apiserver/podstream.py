"""pods/{name}/exec, /attach and /portforward: check the request as kube-apiserver does, then join the client's
WebSocket to one opened to the pod's kubelet (its HTTPS API, with the apiserver's kubelet-client certificate and
the node's name checked, apiserver.kubeletclient) and copy messages both ways without reading them.

The subprotocol is the kubelet's choice among those the client offered (v5/v4 channel framing, base64, or SPDY
tunnelled in WebSocket for kubectl's port-forward). A refusal before the upgrade (no such pod or container, the
kubelet cannot be reached or refuses) is an HTTP answer with a Status. After the upgrade, either side closing
closes the other with the same code. A plain request (no WebSocket upgrade; SPDY is not served) gets 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import websockets
from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.typing import Subprotocol

from apimachinery import errors
from apimachinery.resources import by_resource
from apiserver import kubeletclient, metrics
from apiserver.podlogs import kubelet_address, pick_container
from apiserver.rest import status_response

if TYPE_CHECKING:
    from apiserver.server import APIServer

log = logging.getLogger("apiserver.podstream")

CONNECT_TIMEOUT = 10.0
MAX_MESSAGE = 16 * 1024 * 1024


@dataclass(frozen=True)
class Upstream:
    url: str
    node: str


def _flag(query: QueryParams, name: str, default: bool = False) -> bool:
    raw = query.get(name)
    return default if raw is None else raw.lower() in ("true", "1")


def stream_params(sub: str, query: QueryParams) -> dict[str, Any]:
    """The kubelet's query for `sub`, from the client's (PodExecOptions, PodAttachOptions, PodPortForwardOptions)."""
    if sub == "portforward":
        ports: list[str] = []
        for value in query.getlist("ports"):
            ports += [p.strip() for p in value.split(",") if p.strip()]
        for port in ports:
            if not port.isdigit() or not 1 <= int(port) <= 65535:
                raise errors.bad_request(
                    f"invalid port {port[:16]!r}: must be an integer between 1 and 65535"
                )
        return {"port": ports}
    stdin, stdout, stderr, tty = (_flag(query, n) for n in ("stdin", "stdout", "stderr", "tty"))
    if not (stdin or stdout or stderr):
        raise errors.bad_request("you must specify at least one of stdin, stdout, stderr")
    params: dict[str, Any] = {
        "input": int(stdin),
        "output": int(stdout),
        "error": int(stderr),
        "tty": int(tty),
    }
    if sub == "exec":
        command = query.getlist("command")
        if not command:
            raise errors.bad_request("you must specify at least 1 command")
        params["command"] = command
    return params


async def plan(server: APIServer, namespace: str, name: str, sub: str, query: QueryParams) -> Upstream:
    """Where on which kubelet to open the stream; a StatusError for anything kube-apiserver refuses first."""
    pods = by_resource("", "pods")
    nodes = by_resource("", "nodes")
    assert pods is not None and nodes is not None
    pod = await server.store(pods).get(namespace, name)  # a missing pod is 404 before anything else
    params = stream_params(sub, query)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise errors.bad_request(f"cannot {sub} a container in a completed pod; current phase is {phase}")
    base = kubelet_address(await server.store(nodes).get(None, node_name))
    where = f"{quote(namespace, safe='')}/{quote(name, safe='')}"
    if sub == "portforward":
        path = f"/portForward/{where}"
    else:
        container = pick_container(pod, query.get("container"))
        path = f"/{sub}/{where}/{quote(container, safe='')}"
    query_string = urlencode(params, doseq=True)
    return Upstream(
        "wss" + base[len("https") :] + path + (f"?{query_string}" if query_string else ""), node_name
    )


async def handle(
    server: APIServer, scope: Scope, receive: Receive, send: Send, target: tuple[str, str, str]
) -> None:
    namespace, name, sub = target
    ws = WebSocket(scope, receive, send)
    offered = [str(p) for p in scope.get("subprotocols") or []]
    try:
        upstream = await plan(server, namespace, name, sub, ws.query_params)
        kubelet = await _dial(server, upstream, offered)
    except errors.StatusError as err:
        await ws.send_denial_response(status_response(err))
        return
    await ws.accept(subprotocol=kubelet.subprotocol)
    metrics.streams_open.labels(sub).inc()
    metrics.streams_total.labels(sub).inc()
    try:
        await relay(ws, kubelet)
    finally:
        metrics.streams_open.labels(sub).dec()


async def _dial(server: APIServer, upstream: Upstream, offered: list[str]) -> ClientConnection:
    # The offered subprotocols go as a header of our own: kubectl's `SPDY/3.1+portforward.k8s.io` has a '/',
    # which websockets' RFC 7230 token check refuses; _KubeletConnection checks the kubelet's choice instead.
    headers = {"Sec-WebSocket-Protocol": ", ".join(offered)} if offered else None
    try:
        return await connect(
            upstream.url,
            ssl=kubeletclient.ssl_context(server.options),
            server_hostname=upstream.node,
            additional_headers=headers,
            open_timeout=CONNECT_TIMEOUT,
            max_size=MAX_MESSAGE,
            compression=None,
            ping_interval=None,  # the client keeps its own socket alive; the kubelet idles a session out
            proxy=None,
            create_connection=type("KubeletConnection", (_KubeletConnection,), {"offered": tuple(offered)}),
        )
    except websockets.InvalidStatus as exc:
        text = exc.response.body.decode(errors="replace").strip() if exc.response.body else ""
        code = exc.response.status_code
        raise errors.StatusError(
            code if 400 <= code < 500 else 500,
            {400: "BadRequest", 403: "Forbidden", 404: "NotFound"}.get(code, "InternalError"),
            text or f"the kubelet on node {upstream.node} refused the stream ({code})",
        ) from None
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        raise errors.StatusError(
            500, "InternalError", f"error dialing backend: the kubelet on node {upstream.node}: {exc}"
        ) from None


class _KubeletConnection(ClientConnection):
    """Takes the kubelet's Sec-WebSocket-Protocol as the single value it is, if it is one the client offered."""

    offered: tuple[str, ...] = ()

    def __init__(self, protocol: ClientProtocol, **kwargs: Any) -> None:
        offered = self.offered

        def chosen(headers: Headers) -> Subprotocol | None:
            values = [v.strip() for v in headers.get_all("Sec-WebSocket-Protocol")]
            if not values:
                return None
            if len(values) > 1 or values[0] not in offered:
                raise websockets.InvalidHeader(
                    "Sec-WebSocket-Protocol", f"unexpected {', '.join(values)[:80]}"
                )
            return Subprotocol(values[0])

        protocol.process_subprotocol = chosen  # type: ignore[method-assign]
        super().__init__(protocol, **kwargs)


async def relay(ws: WebSocket, kubelet: ClientConnection) -> None:
    """Copy messages both ways; when one side closes, close the other with its code."""

    async def from_client() -> int:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return int(message.get("code") or 1000)
            data = message.get("bytes")
            await kubelet.send(data if data is not None else message.get("text") or "")

    async def from_kubelet() -> int:
        try:
            async for message in kubelet:
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_text(message)
        except websockets.ConnectionClosed:
            pass
        return kubelet.close_code or 1000

    client_side = asyncio.ensure_future(from_client())
    kubelet_side = asyncio.ensure_future(from_kubelet())
    try:
        done, _ = await asyncio.wait({client_side, kubelet_side}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (client_side, kubelet_side):
            task.cancel()
        results = await asyncio.gather(client_side, kubelet_side, return_exceptions=True)
    code = _close_code(results, client_gone=client_side in done)
    if client_side in done:
        await kubelet.close(code)
    else:
        await kubelet.close()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.close(code)


def _close_code(results: Sequence[Any], *, client_gone: bool) -> int:
    value = results[0] if client_gone else results[1]
    code = value if isinstance(value, int) else 1000
    # 1005/1006 mean "no code"/"abnormal" and must not be sent on the wire; say "going away" instead.
    return 1001 if code in (1005, 1006) or not 1000 <= code < 5000 else code


def match(path: str) -> tuple[str, str, str] | None:
    """(namespace, pod, subresource) for `/api/v1/namespaces/{ns}/pods/{name}/{exec|attach|portforward}`."""
    parts = path.split("/")
    if (
        len(parts) == 8
        and parts[:4] == ["", "api", "v1", "namespaces"]
        and parts[5] == "pods"
        and parts[7] in ("exec", "attach", "portforward")
        and parts[4]
        and parts[6]
    ):
        return parts[4], parts[6], parts[7]
    return None


def not_upgraded(headers: Mapping[str, str]) -> errors.StatusError:
    """The answer to a plain request: kube-apiserver says "Upgrade request required"; SPDY is not spoken here."""
    if "spdy" in headers.get("upgrade", "").lower():
        return errors.bad_request(
            "Upgrade request required: this server streams over WebSocket only (SPDY/3.1 is not supported); "
            "kubectl 1.30 and later use WebSocket"
        )
    return errors.bad_request("Upgrade request required")
