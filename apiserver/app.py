"""The FastAPI application: discovery, OpenAPI, health, metrics and the resource API, behind authentication and
authorization (apiserver/auth/filter.py).

Resource requests go to one catch-all route per API root and are dispatched by `ResourceAPI`, which parses the
Kubernetes path itself: it is faster than hundreds of routes and keeps path rules in one place.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from apimachinery import errors
from apiserver import discovery, metrics, nodeproxy, podstream
from apiserver.auth.filter import AuthFilter
from apiserver.inflight import InflightLimit
from apiserver.openapi import parse_gv_path
from apiserver.openapi_v2 import respond as openapi_v2_respond
from apiserver.rest import ResourceAPI, json_response, status_response
from apiserver.server import APIServer

log = logging.getLogger("apiserver.app")


class ResourceFastPath:
    """Resource requests skip FastAPI's routing and dependency machinery: they are most of the traffic, and
    `ResourceAPI` parses Kubernetes paths itself. Discovery, OpenAPI, health and metrics stay FastAPI routes."""

    def __init__(self, app: ASGIApp, resources: ResourceAPI) -> None:
        self.app = app
        self.resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (node_proxy := nodeproxy.match(scope["path"])) is not None:
            await _node_proxy(self.resources, scope, receive, send, node_proxy)
            return
        if scope["type"] == "http":
            target = match_resource_path(scope["path"])
            if target is not None:
                request = Request(scope, receive)
                # An aggregated group goes to its APIService's backend (apiserver/aggregator).
                api_service = self.resources.server.aggregator.api_service_for(target[0], target[1])
                if api_service is not None:
                    response = await self.resources.server.aggregator_proxy.handle(request, api_service)
                else:
                    response = await self.resources.handle(request, *target)
                await response(scope, receive, send)
                return
        elif scope["type"] == "websocket" and (stream := podstream.match(scope["path"])) is not None:
            await podstream.handle(self.resources.server, scope, receive, send, stream)
            return
        await self.app(scope, receive, send)


async def _node_proxy(
    resources: ResourceAPI, scope: Scope, receive: Receive, send: Send, target: tuple[str, str]
) -> None:
    try:
        response = await nodeproxy.handle(resources.server, Request(scope, receive), *target)
    except errors.StatusError as err:
        response = status_response(err)
    await response(scope, receive, send)


def match_resource_path(path: str) -> tuple[str, str, str] | None:
    """(group, version, rest) for `/api/v1/<rest>` and `/apis/<group>/<version>/<rest>`; None for anything else."""
    if path.startswith("/api/v1/"):
        rest = path[len("/api/v1/") :]
        return ("", "v1", rest) if rest.strip("/") else None
    if path.startswith("/apis/"):
        parts = path[len("/apis/") :].split("/", 2)
        if len(parts) == 3 and parts[2].strip("/"):
            return parts[0], parts[1], parts[2]
    return None


def create_app(server: APIServer) -> ASGIApp:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    resources = ResourceAPI(server)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return status_response(errors.path_not_found())
        if exc.status_code == 405:
            return status_response(errors.method_not_allowed())
        return status_response(errors.StatusError(exc.status_code, "Unknown", str(exc.detail)))

    @app.exception_handler(errors.StatusError)
    async def status_error(_request: Request, exc: errors.StatusError) -> Response:
        return status_response(exc)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return status_response(errors.internal())

    # ---- health and metrics ----------------------------------------------------------------------------------

    @app.get("/healthz")
    @app.get("/livez")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/readyz")
    async def readyz() -> PlainTextResponse:
        if await server.ready():
            return PlainTextResponse("ok")
        return PlainTextResponse(
            "[-]etcd failed: storage is not answering\nreadyz check failed", status_code=500
        )

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ---- discovery --------------------------------------------------------------------------------------------

    @app.get("/version")
    @app.get("/version/")
    async def version() -> Response:
        return json_response(discovery.VERSION)

    def aggregated_or(request: Request, core: bool, legacy: dict) -> Response:
        wanted = discovery.negotiate_aggregated(request.headers.get("accept", ""))
        if wanted is None:
            return json_response(legacy)
        api_version = "apidiscovery.k8s.io/v2beta1" if "v2beta1" in wanted else "apidiscovery.k8s.io/v2"
        body = discovery.aggregated(server.table, core, api_version)
        if not core:
            body["items"] += server.aggregator.aggregated_discovery()
        return Response(json_response(body).body, media_type=wanted, headers={"Vary": "Accept"})

    @app.get("/api")
    @app.get("/api/")
    async def api_root(request: Request) -> Response:
        host = request.headers.get("host", f"{request.url.hostname}:{request.url.port}")
        return aggregated_or(request, True, discovery.api_versions(host))

    @app.get("/apis")
    @app.get("/apis/")
    async def apis_root(request: Request) -> Response:
        legacy = discovery.api_group_list(server.table)
        legacy["groups"] += [server.aggregator.api_group(g) for g in server.aggregator.groups()]
        return aggregated_or(request, False, legacy)

    @app.get("/api/v1")
    @app.get("/api/v1/")
    async def core_v1() -> Response:
        return json_response(discovery.resource_list(server.table, "", "v1"))

    @app.api_route("/apis/{group}", methods=["GET"])
    @app.api_route("/apis/{group}/", methods=["GET"])
    async def api_group(group: str) -> Response:
        body = discovery.api_group(server.table, group) or server.aggregator.api_group(group)
        if body is None:
            return status_response(errors.path_not_found())
        return json_response(body)

    @app.api_route("/apis/{group}/{version}", methods=["GET"])
    @app.api_route("/apis/{group}/{version}/", methods=["GET"])
    async def group_version(request: Request, group: str, version: str) -> Response:
        api_service = server.aggregator.api_service_for(group, version)
        if api_service is not None:
            return await server.aggregator_proxy.handle(request, api_service)
        body = discovery.resource_list(server.table, group, version)
        if body is None:
            return status_response(errors.path_not_found())
        return json_response(body)

    # ---- OpenAPI ----------------------------------------------------------------------------------------------

    @app.get("/openapi/v2")
    async def openapi_v2(request: Request) -> Response:
        return openapi_v2_respond(server.openapi_v2, request)

    @app.get("/openapi/v3")
    @app.get("/openapi/v3/")
    async def openapi_root() -> Response:
        return json_response(server.openapi.root_document())

    @app.get("/openapi/v3/{gv:path}")
    async def openapi_gv(gv: str) -> Response:
        try:
            body = server.openapi.group_version_json(*parse_gv_path(gv))
        except errors.StatusError as err:
            return status_response(err)
        # The cached bytes the ?hash= was computed from.
        return Response(body, media_type="application/json")

    # ---- resources: everything under /api/v1/ and /apis/{group}/{version}/ ---------------------------------

    # Every request is authenticated and authorized before it reaches a route (apiserver/auth/filter.py); the
    # in-flight limit comes first so that a flood is refused before it costs a signature check.
    return InflightLimit(
        AuthFilter(ResourceFastPath(app, resources), server.auth),
        read_only=server.options.max_requests_inflight,
        mutating=server.options.max_mutating_requests_inflight,
    )
