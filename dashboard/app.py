"""The dashboard's web application: routes -> pages (pages.py), live streams (live.py), actions (actions.py).

`create_app(settings)` wires it; the `Client` (the user's own credentials) is made at startup inside the
server's event loop and closed at shutdown. Errors become one small page with the apiserver's own words:
BadRequest 400, a StatusError its code, an unreachable apiserver 502; never a traceback.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError
from apimachinery.kubeconfig import ClientConfig
from dashboard import actions, cluster, live, security
from dashboard.actions import Writes
from dashboard.cluster import BadRequest
from dashboard.pages import PAGES, Page, params_of

HERE = Path(__file__).parent
LOG_TAIL = 500
SAFE_BACK = r"/[A-Za-z0-9/_.?=&%-]{0,500}"


@dataclass
class Settings:
    config: ClientConfig  # the user's kubeconfig context
    context: str  # its name, shown in the header
    allow_writes: bool = False
    loopback: bool = True
    token: str | None = None  # the access token (made at random when None)


def _render_error(templates: Jinja2Templates, request: Request, code: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "error.html", {"title": f"Error {code}", "code": code, "message": message}, status_code=code
    )


@dataclass
class _Parts:
    """What the route groups share: the settings, the access secrets, the templates, the metrics and the
    apiserver client (made at startup, inside the server's event loop)."""

    settings: Settings
    keys: security.Secrets
    writes: Writes
    templates: Jinja2Templates
    registry: CollectorRegistry
    requests_total: Counter
    streams_open: Gauge
    state: dict[str, Client]

    def client(self) -> Client:
        return self.state["client"]


def _error_handlers(app: FastAPI, parts: _Parts) -> None:
    """Errors become one small page with the apiserver's own words, never a traceback."""
    templates = parts.templates

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest) -> Response:
        return _render_error(templates, request, 400, str(exc))

    @app.exception_handler(StatusError)
    async def _status(request: Request, exc: StatusError) -> Response:
        code = exc.code if 400 <= exc.code < 600 else 500
        return _render_error(templates, request, code, exc.message or exc.reason)

    @app.exception_handler(ClientConnectionError)
    async def _unreachable(request: Request, exc: ClientConnectionError) -> Response:
        return _render_error(templates, request, 502, str(exc))


def _health_routes(app: FastAPI, parts: _Parts) -> None:
    """/healthz and the dashboard's own /metrics."""
    registry = parts.registry

    @app.get("/healthz", response_class=PlainTextResponse)
    async def healthz() -> str:
        return "ok"

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _page_routes(app: FastAPI, parts: _Parts) -> None:
    """The pages (overview, listings, a pod) and their live server-sent event streams."""
    templates, client, writes = parts.templates, parts.client, parts.writes
    requests_total, streams_open = parts.requests_total, parts.streams_open

    async def render_page(request: Request, page: Page, params: dict[str, str]) -> Response:
        requests_total.labels(page.name).inc()
        ctx = await page.build(client(), params, writes)
        live_url = f"/events/{page.name}?{urlencode(params)}"
        return templates.TemplateResponse(
            request,
            "page.html",
            {**ctx, "page": page, "params": params, "title": page.title, "live_url": live_url},
        )

    @app.get("/", response_class=HTMLResponse)
    async def overview(request: Request) -> Response:
        return await render_page(
            request, PAGES["overview"], params_of("overview", dict(request.query_params))
        )

    @app.get("/namespaces", response_class=HTMLResponse)
    @app.get("/workloads", response_class=HTMLResponse)
    @app.get("/services", response_class=HTMLResponse)
    async def listing(request: Request) -> Response:
        name = request.url.path.strip("/")
        return await render_page(request, PAGES[name], params_of(name, dict(request.query_params)))

    @app.get("/pods/{namespace}/{name}", response_class=HTMLResponse)
    async def pod(request: Request, namespace: str, name: str) -> Response:
        return await render_page(
            request, PAGES["pod"], params_of("pod", {"namespace": namespace, "name": name})
        )

    @app.get("/events/{name}")
    async def events(request: Request, name: str) -> Response:
        page = PAGES.get(name)
        if page is None:
            raise BadRequest("no such page")
        params = params_of(name, dict(request.query_params))

        async def render() -> str:
            try:
                ctx = await page.build(client(), params, writes)
            except StatusError as err:
                ctx = {"gone": err.message or err.reason}
            template = templates.env.get_template(page.body)
            return template.render({**ctx, "page": page, "params": params})

        async def counted() -> AsyncIterator[str]:
            streams_open.inc()
            try:
                async for chunk in live.page_stream(client(), page.watches(params), render):
                    yield chunk
            finally:
                streams_open.dec()

        requests_total.labels("events").inc()
        return StreamingResponse(
            counted(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )


def _object_routes(app: FastAPI, parts: _Parts) -> None:
    """A pod's logs (a page and its stream) and any object as YAML."""
    templates, client, requests_total = parts.templates, parts.client, parts.requests_total

    def _log_params(request: Request, namespace: str, name: str) -> tuple[str, bool]:
        container = request.query_params.get("container", "")
        cluster.object_path("v1", "pods", namespace, name)  # validates both names
        if container and not cluster.DNS_LABEL.fullmatch(container):
            raise BadRequest("invalid container name")
        return container, request.query_params.get("previous") == "true"

    @app.get("/pods/{namespace}/{name}/logs", response_class=HTMLResponse)
    async def logs(request: Request, namespace: str, name: str) -> Response:
        container, previous = _log_params(request, namespace, name)
        requests_total.labels("logs").inc()
        pod = await cluster.get_object(client(), "v1", "pods", namespace, name)
        names = [
            str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)
        ]
        container = container or (names[0] if names else "")
        query = urlencode({"container": container, **({"previous": "true"} if previous else {})})
        return templates.TemplateResponse(
            request,
            "logs.html",
            {"title": f"Logs of {name}", "namespace": namespace, "name": name, "container": container,
             "containers": names, "previous": previous, "stream_url": f"/pods/{namespace}/{name}/logs/stream?{query}"},
        )  # fmt: skip

    @app.get("/pods/{namespace}/{name}/logs/stream")
    async def log_stream(request: Request, namespace: str, name: str) -> Response:
        container, previous = _log_params(request, namespace, name)
        lines = cluster.log_lines(
            client(),
            namespace,
            name,
            container=container,
            follow=not previous,
            previous=previous,
            tail=LOG_TAIL,
        )
        return StreamingResponse(live.log_stream(lines), media_type="text/event-stream")

    @app.get("/yaml", response_class=HTMLResponse)
    async def yaml_view(request: Request) -> Response:
        q = request.query_params
        api_version, resource = q.get("apiVersion", ""), q.get("resource", "")
        namespace, name = q.get("namespace", ""), q.get("name", "")
        requests_total.labels("yaml").inc()
        obj = await cluster.get_object(client(), api_version, resource, namespace, name)
        (obj.get("metadata") or {}).pop("managedFields", None)  # as kubectl get -o yaml shows it
        text = yaml.safe_dump(obj, sort_keys=False, allow_unicode=False)
        return templates.TemplateResponse(
            request,
            "yaml.html",
            {"title": f"{resource}/{name}", "text": text, "resource": resource, "name": name},
        )


def _action_routes(app: FastAPI, parts: _Parts) -> None:
    """The write actions: a confirmation page, then a CSRF-checked POST (only with --allow-writes)."""
    settings, keys, templates, client = parts.settings, parts.keys, parts.templates, parts.client
    requests_total = parts.requests_total

    def _action_from(fields: dict[str, str]) -> actions.Action:
        if not settings.allow_writes:
            raise BadRequest("this dashboard is read-only (start it with --allow-writes)")
        return actions.parse_action(
            fields.get("verb", ""), fields.get("group", ""), fields.get("resource", ""),
            fields.get("namespace", ""), fields.get("name", ""),
        )  # fmt: skip

    def _back(value: str) -> str:
        return value if re.fullmatch(SAFE_BACK, value) and not value.startswith("//") else "/"

    @app.get("/confirm", response_class=HTMLResponse)
    async def confirm(request: Request) -> Response:
        fields = dict(request.query_params)
        action = _action_from(fields)
        current = None
        if action.verb == "scale":
            obj = await client().get(action.res, action.name, action.namespace)
            current = int((obj.get("spec") or {}).get("replicas") or 0)
        return templates.TemplateResponse(
            request,
            "confirm.html",
            {"title": f"Confirm {action.verb}", "action": action, "group": action.res.group, "current": current,
             "back": _back(fields.get("back", "/"))},
        )  # fmt: skip

    @app.post("/actions")
    async def act(request: Request) -> Response:
        body = (await request.body())[:10_000].decode("utf-8", "replace")
        fields = {k: v[0] for k, v in parse_qs(body).items()}
        if not keys.is_csrf(fields.get("csrf")):
            return _render_error(
                templates, request, 403, "the form is stale or did not come from this dashboard"
            )
        action = _action_from(fields)
        replicas = None
        if action.verb == "scale":
            try:
                replicas = int(fields.get("replicas", ""))
            except ValueError:
                raise BadRequest("replicas must be a whole number") from None
        requests_total.labels(f"action-{action.verb}").inc()
        await actions.perform(client(), action, replicas)
        return RedirectResponse(_back(fields.get("back", "/")), status_code=303)


def create_app(settings: Settings) -> FastAPI:
    keys = security.Secrets(settings.token)
    writes = Writes(enabled=settings.allow_writes)
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html
    registry = CollectorRegistry()
    requests_total = Counter(
        "dashboard_requests_total", "Requests served, by route", ["route"], registry=registry
    )
    streams_open = Gauge("dashboard_streams_open", "Server-sent event streams open now", registry=registry)
    state: dict[str, Client] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["client"] = Client(settings.config, user_agent="kubelite-dashboard")
        try:
            yield
        finally:
            await state.pop("client").aclose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.keys = keys
    app.middleware("http")(security.guard(keys, loopback=settings.loopback))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    templates.env.globals.update(
        context_name=settings.context, allow_writes=settings.allow_writes, csrf=keys.csrf
    )
    parts = _Parts(settings, keys, writes, templates, registry, requests_total, streams_open, state)
    _error_handlers(app, parts)
    _health_routes(app, parts)
    _page_routes(app, parts)
    _object_routes(app, parts)
    _action_routes(app, parts)

    app.state.started = time.time()
    return app
