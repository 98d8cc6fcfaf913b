"""The kubelet's HTTPS API on --port: container logs, /healthz, /metrics, /pods. Every path but /healthz needs an
authenticated, authorized caller (kubelet/auth.py): the apiserver with its kubelet-client certificate, or anyone
the apiserver's RBAC lets at nodes/proxy, nodes/metrics, ...

GET /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&timestamps=&previous=
    text/plain; with follow=true the body streams until the container stops or the client goes away.
    The apiserver's pods/{name}/log proxies here (the Node's daemonEndpoints.kubeletEndpoint.Port).
GET /stats/summary[?only_cpu_and_memory=true]   the Summary API (stats/v1alpha1), nodes/stats
GET /metrics/resource, /metrics/cadvisor         resource and cAdvisor metrics, nodes/metrics
    All three render the stats collector's last round (kubelet/stats/): a scrape never reads a cgroup.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from apimachinery.tlsserve import ClientCertProtocol, ClientCertWebSocketProtocol
from kubelet import portforward, streaming
from kubelet.auth import AuthMiddleware, KubeletAuth
from kubelet.metrics import KubeletMetrics
from kubelet.runtime.docker import (
    DockerRuntime,
)
from kubelet.stats import exposition
from kubelet.stats import summary as stats_summary
from kubelet.stats.collector import StatsCollector


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1", "yes")


async def _container_logs(runtime: DockerRuntime, request: Request) -> Response:
    """GET /containerLogs/{namespace}/{pod}/{container}: the newest (or, with previous, the one before)
    container's log, streamed while follow is set."""
    ns = request.path_params["namespace"]
    pod = request.path_params["pod"]
    container = request.path_params["container"]
    entries = await runtime.containers_named(ns, pod, container)
    index = 1 if _flag(request, "previous") else 0
    if len(entries) <= index:
        what = "previous terminated container" if index else "container"
        return PlainTextResponse(
            f'{what} "{container}" in pod "{pod}" not found', status_code=404 if not index else 400
        )
    tail_text = request.query_params.get("tailLines")
    tail = int(tail_text) if tail_text and tail_text.lstrip("-").isdigit() and int(tail_text) >= 0 else None
    follow = _flag(request, "follow")
    if tail == 0 and not follow:
        return PlainTextResponse("")
    stream = runtime.logs(
        entries[index]["Id"],
        follow=follow,
        tail=tail,
        timestamps=_flag(request, "timestamps"),
    )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await stream.aclose()  # ends Docker's follow stream when the client goes away

    return StreamingResponse(body(), media_type="text/plain")


def build_app(
    runtime: DockerRuntime,
    metrics: KubeletMetrics,
    pods: Callable[[], list[dict[str, Any]]],
    healthy: Callable[[], bool],
    auth: KubeletAuth,
    stats: StatsCollector | None = None,
) -> ASGIApp:
    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok") if healthy() else PlainTextResponse("unhealthy", status_code=500)

    async def metrics_endpoint(request: Request) -> Response:
        # This kubelet's registry, then the process's (rest_client_*, workqueue_*, kubernetes_build_info).
        body = generate_latest(metrics.registry) + generate_latest(REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def stats_summary_endpoint(request: Request) -> Response:
        if stats is None:
            return PlainTextResponse("stats collection is off", status_code=404)
        body = stats_summary.summary(
            stats.snapshot, only_cpu_and_memory=_flag(request, "only_cpu_and_memory")
        )
        return JSONResponse(body)

    async def resource_metrics(request: Request) -> Response:
        if stats is None:
            return PlainTextResponse("stats collection is off", status_code=404)
        return Response(exposition.resource_metrics(stats.snapshot), media_type=exposition.CONTENT_TYPE)

    async def cadvisor_metrics(request: Request) -> Response:
        if stats is None:
            return PlainTextResponse("stats collection is off", status_code=404)
        return Response(exposition.cadvisor_metrics(stats.snapshot), media_type=exposition.CONTENT_TYPE)

    async def pod_list(request: Request) -> Response:
        return JSONResponse({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods()})

    async def container_logs(request: Request) -> Response:
        return await _container_logs(runtime, request)

    async def exec_endpoint(ws: WebSocket) -> None:
        await streaming.handle_exec(ws, runtime, metrics)

    async def attach_endpoint(ws: WebSocket) -> None:
        await streaming.handle_attach(ws, runtime, metrics)

    async def port_forward_endpoint(ws: WebSocket) -> None:
        await portforward.handle_port_forward(ws, runtime, metrics)

    app = Starlette(
        routes=[
            WebSocketRoute("/exec/{namespace}/{pod}/{container}", exec_endpoint),
            WebSocketRoute("/attach/{namespace}/{pod}/{container}", attach_endpoint),
            WebSocketRoute("/portForward/{namespace}/{pod}", port_forward_endpoint),
            Route("/healthz", healthz),
            Route("/metrics", metrics_endpoint),
            Route("/metrics/resource", resource_metrics),
            Route("/metrics/cadvisor", cadvisor_metrics),
            Route("/stats/summary", stats_summary_endpoint),
            Route("/pods", pod_list),
            Route("/containerLogs/{namespace}/{pod}/{container}", container_logs),
        ]
    )
    return AuthMiddleware(app, auth)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the kubelet's main handles SIGTERM and cancels us."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(app: ASGIApp, host: str, port: int, tls: ssl.SSLContext) -> uvicorn.Server:
    """HTTPS on host:port with `tls` (server_ssl_context: serving certificate, client CA)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        http=ClientCertProtocol,
        ws=ClientCertWebSocketProtocol,
        ws_per_message_deflate=False,
        ssl_context_factory=lambda _config, _default: tls,
    )
    return _Server(config)
