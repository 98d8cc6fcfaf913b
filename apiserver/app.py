"""The FastAPI application: discovery, OpenAPI, health, metrics and the resource API, behind authentication and
authorization (apiserver/auth/filter.py).

Resource requests go to one catch-all route per API root and are dispatched by `ResourceAPI`, which parses the
Kubernetes path itself: it is faster than hundreds of routes and keeps path rules in one place.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from apimachinery import errors
from apiserver import discovery, metrics, nodeproxy, podstream
from apiserver.auth.filter import AuthFilter
from apiserver.health import HealthEndpoint
from apiserver.inflight import InflightLimit
from apiserver.observe import RequestObserver
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
    except Exception:
        log.exception("node proxy request failed", extra={"path": scope["path"]})
        response = status_response(errors.internal())
    await response(scope, receive, send)


def _single_check(endpoint: HealthEndpoint) -> Callable[[str], Awaitable[Response]]:
    async def single(check: str) -> Response:
        response = await endpoint.single(check)
        return response if response is not None else status_response(errors.path_not_found())

    return single


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
    _add_error_handlers(app)
    _add_health_routes(app, server)
    _add_discovery_routes(app, server)
    _add_openapi_routes(app, server)
    # ---- resources: everything under /api/v1/ and /apis/{group}/{version}/ ---------------------------------
    resources = ResourceAPI(server)
    # Every request is authenticated and authorized before it reaches a route (apiserver/auth/filter.py); the
    # in-flight limit comes first so that a flood is refused before it costs a signature check.
    limited = InflightLimit(
        AuthFilter(ResourceFastPath(app, resources), server.auth),
        read_only=server.options.max_requests_inflight,
        mutating=server.options.max_mutating_requests_inflight,
    )
    # Outermost: 5xx causes, the access log and the audit log see every answer (apiserver/observe.py).
    return RequestObserver(limited, access_log=server.options.access_log, auditor=server.options.auditor)


def _add_error_handlers(app: FastAPI) -> None:
    """Every failure answers with a Kubernetes Status, an unexpected one without its traceback."""

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


def _add_health_routes(app: FastAPI, server: APIServer) -> None:
    # /livez, /readyz, /healthz and their named checks (apiserver/health.py).
    for endpoint in server.health.values():
        app.add_api_route(f"/{endpoint.name}", endpoint.aggregate, methods=["GET"])
        app.add_api_route(f"/{endpoint.name}/{{check:path}}", _single_check(endpoint), methods=["GET"])

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _add_discovery_routes(app: FastAPI, server: APIServer) -> None:
    """/version, /api, /apis and each group and version, aggregated groups included (apiserver/aggregator/)."""

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


def _add_openapi_routes(app: FastAPI, server: APIServer) -> None:
    """/openapi/v2 and /openapi/v3, with aggregated groups' documents served by their backends."""

    @app.get("/openapi/v2")
    async def openapi_v2(request: Request) -> Response:
        return openapi_v2_respond(server.openapi_v2, request)

    @app.get("/openapi/v3")
    @app.get("/openapi/v3/")
    async def openapi_root() -> Response:
        body = server.openapi.root_document()
        for versions in server.aggregator.groups().values():  # served by their backends (the route below)
            for obj in versions:
                gv = f"apis/{obj['spec']['group']}/{obj['spec']['version']}"
                body["paths"][gv] = {"serverRelativeURL": f"/openapi/v3/{gv}"}
        return json_response(body)

    @app.get("/openapi/v3/{gv:path}")
    async def openapi_gv(request: Request, gv: str) -> Response:
        try:
            api_service = server.aggregator.api_service_for(*parse_gv_path(gv))
            if api_service is not None:
                return await server.aggregator_proxy.handle(request, api_service)
            body = server.openapi.group_version_json(*parse_gv_path(gv))
        except errors.StatusError as err:
            return status_response(err)
        # The cached bytes the ?hash= was computed from.
        return Response(body, media_type="application/json")
