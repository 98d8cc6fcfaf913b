"""The async REST client of the Kubernetes API, over one `httpx.AsyncClient`.

    StatusError             (apimachinery.errors) the server answered non-2xx; `.code`, `.reason`, `.message`
    ClientConnectionError   the server could not be reached or the connection broke (a `ConnectionError`)

Objects are plain JSON dicts, as on the wire. Paths come from `ResourceInfo` (`apimachinery.resources`).
For a namespaced resource, `namespace=None` means the object's own namespace (or the client's default namespace
from the kubeconfig) for single-object verbs, and all namespaces for `list` and `watch`.

Timeouts are explicit: connect 5 s, read 30 s; a watch waits for frames up to the server's timeoutSeconds plus
slack. GET/HEAD/PUT/DELETE answered 429 or 503 are retried a few times, honouring `Retry-After` (bounded).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypeVar

import httpx

from apimachinery import clientmetrics, serialization
from apimachinery.backoff import Backoff
from apimachinery.errors import StatusError, is_conflict
from apimachinery.kubeconfig import ClientConfig, KubeconfigError, load
from apimachinery.resources import ResourceInfo
from apimachinery.transport import aiohttp_transport, watch_transport

log = logging.getLogger(__name__)

PatchType = Literal["merge", "strategic", "json", "apply"]
PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 503})
MAX_TRIES = 3
MAX_RETRY_AFTER = 10.0
WATCH_SLACK = 30.0

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

T = TypeVar("T")


class ClientConnectionError(ConnectionError):
    """The apiserver could not be reached, timed out, or broke the connection."""


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date; the apiserver never sends one, treat as absent


async def _lines(resp: httpx.Response) -> AsyncIterator[bytes]:
    """The lines of a streamed body as bytes (a watch: one JSON document a line), without the text layer of
    `aiter_lines`: a frame is decoded once, by `serialization.loads`."""
    pending = b""
    async for chunk in resp.aiter_bytes():
        pending += chunk
        if b"\n" not in chunk:
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line
    if pending:
        yield pending


def status_error(resp: httpx.Response) -> StatusError:
    """The `StatusError` for a non-2xx response (reads `resp.content`, which must be loaded)."""
    body: Any = None
    try:
        body = serialization.loads(resp.content) if resp.content else None
    except ValueError:
        body = None  # not JSON (e.g. a proxy's HTML page): built from code and text below
    if isinstance(body, dict) and body.get("kind") == "Status":
        err = StatusError.from_status(body, resp.status_code)
    else:
        text = resp.text.strip()[:500] if resp.content else ""
        err = StatusError(
            resp.status_code,
            _REASONS.get(resp.status_code, "Unknown"),
            text or f"the server responded with HTTP {resp.status_code}",
        )
    ra = _retry_after(resp)
    if ra is not None:
        err.retry_after = int(ra)
    return err


def _params(**kwargs: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in kwargs.items():
        if v is None or v is False:
            continue
        out[k] = "true" if v is True else str(v)
    return out


class Client:
    """An async client of one apiserver. Create it inside the running event loop; close it with `aclose()`."""

    def __init__(
        self,
        config: ClientConfig | str,
        *,
        user_agent: str = "kubelite",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`transport` replaces the network (tests use `httpx.MockTransport`)."""
        self.config = config if isinstance(config, ClientConfig) else ClientConfig(server=config.rstrip("/"))
        headers = {"Accept": "application/json", "User-Agent": user_agent}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        self._tls = self.config.ssl_context()

        def http(transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=self.config.server,
                headers=headers,
                timeout=httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0),
                trust_env=False,
                transport=transport,
                event_hooks=clientmetrics.HOOKS,
            )

        # Requests go through aiohttp (apimachinery.transport: ~40% less CPU each), on connections of their own, so
        # that no request waits behind or searches among the watches' connections; the watches, which hold their
        # connection for minutes and cost their CPU per frame rather than per request, keep httpx's own transport
        # (an aiohttp connection holds ~0.3 MiB against httpx's ~0.05 MiB, and a component runs dozens of watches).
        # A given transport (tests' MockTransport, the scheduler's rate limit) carries both.
        self._http = http(transport or aiohttp_transport(self._tls, connections=0))
        if transport is not None:
            self._streams = self._http
        else:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=8)
            self._streams = http(watch_transport(self._tls, limits))

    def use_client_certificate(self, cert_file: str, key_file: str) -> None:
        """Present this certificate from now on (a rotated one): new connections use it, open ones (watches)
        keep the one they were made with until they end."""
        if not isinstance(self._tls, ssl.SSLContext):
            raise ValueError("this client does not use TLS")
        self._tls.load_cert_chain(cert_file, key_file)

    @classmethod
    def from_args(
        cls,
        master: str | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        user_agent: str = "kubelite",
    ) -> Client:
        """`--master` alone: that URL, no credentials. `--kubeconfig` (or $KUBECONFIG, ~/.kube/config when
        neither is given): that file's context; `--master` then overrides only the server, like kubectl --server."""
        if master and not kubeconfig:
            return cls(ClientConfig(server=master.rstrip("/")), user_agent=user_agent)
        try:
            config = load(kubeconfig, context)
        except KubeconfigError as exc:
            if kubeconfig:
                raise
            raise KubeconfigError(f"no --master given and {exc}") from exc
        if master:
            config.server = master.rstrip("/")
        return cls(config, user_agent=user_agent)

    @property
    def server(self) -> str:
        return self.config.server

    @property
    def namespace(self) -> str:
        return self.config.namespace

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._streams is not self._http:
            await self._streams.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- raw requests -------------------------------------------------------------------------------------

    def _conn_error(self, method: str, path: str, exc: Exception) -> ClientConnectionError:
        what = type(exc).__name__
        detail = str(exc) or what
        clientmetrics.failed("GET" if method == "WATCH" else method, self._http.base_url)
        return ClientConnectionError(
            f"apiserver {self.server} unreachable ({method} {path}): {what}: {detail}"
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON body (or the text for non-JSON responses).

        Raises `StatusError` for non-2xx and `ClientConnectionError` for transport failures.
        """
        method = method.upper()
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        hdrs = dict(headers or {})
        if content is not None:
            hdrs["Content-Type"] = content_type
        tries = MAX_TRIES if method in IDEMPOTENT else 1
        for attempt in range(1, tries + 1):
            try:
                resp = await self._http.request(
                    method,
                    path,
                    params=params,
                    content=content,
                    headers=hdrs,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
            except httpx.TransportError as exc:
                raise self._conn_error(method, path, exc) from exc
            if resp.is_success:
                if resp.headers.get("content-type", "").startswith("application/json"):
                    return serialization.loads(resp.content) if resp.content else None
                return resp.text
            if resp.status_code in RETRY_STATUSES and attempt < tries:
                ra = _retry_after(resp)
                delay = min(1.0 if ra is None else ra, MAX_RETRY_AFTER)
                log.info("retrying after HTTP %s", resp.status_code, extra={"path": path, "delay": delay})
                await asyncio.sleep(delay)
                continue
            raise status_error(resp)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- verbs ----------------------------------------------------------------------------------------------

    def _ns(self, res: ResourceInfo, namespace: str | None, obj: dict[str, Any] | None = None) -> str | None:
        if not res.namespaced:
            return None
        if namespace:
            return namespace
        if obj is not None and (obj.get("metadata") or {}).get("namespace"):
            return str(obj["metadata"]["namespace"])
        return self.namespace

    async def get(
        self, res: ResourceInfo, name: str, namespace: str | None = None, subresource: str | None = None
    ) -> Any:
        return await self.request("GET", res.object_path(name, self._ns(res, namespace), subresource))

    async def list(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """One page of the collection (all namespaces when `namespace` is None): the List dict."""
        params = _params(
            labelSelector=label_selector or None,
            fieldSelector=field_selector or None,
            limit=limit,
            resourceVersion=resource_version,
            **{"continue": continue_ or None},
        )
        result = await self.request(
            "GET", res.collection_path(namespace if res.namespaced else None), params=params
        )
        if result.get("items") is None:
            result["items"] = []
        return result  # type: ignore[no-any-return]

    async def list_all(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
    ) -> dict[str, Any]:
        """Every page of the collection merged into one List (the metadata of the last page)."""
        items: list[dict[str, Any]] = []
        cont: str | None = None
        while True:
            page = await self.list(
                res, namespace, label_selector, field_selector, limit=page_size, continue_=cont
            )
            items.extend(page["items"])
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                page["items"] = items
                return page

    async def create(
        self,
        res: ResourceInfo,
        obj: dict[str, Any],
        namespace: str | None = None,
        subresource: str | None = None,
        *,
        field_manager: str | None = None,
    ) -> Any:
        ns = self._ns(res, namespace, obj)
        params = _params(fieldManager=field_manager)
        if subresource:
            path = res.object_path(obj["metadata"]["name"], ns, subresource)
        else:
            path = res.collection_path(ns)
        return await self.request("POST", path, params=params, body=obj)

    async def update(
        self,
        res: ResourceInfo,
        obj: dict[str, Any],
        namespace: str | None = None,
        subresource: str | None = None,
        *,
        field_manager: str | None = None,
    ) -> Any:
        """PUT the whole object; its `metadata.resourceVersion` (if set) is the optimistic-concurrency guard."""
        path = res.object_path(obj["metadata"]["name"], self._ns(res, namespace, obj), subresource)
        return await self.request("PUT", path, params=_params(fieldManager=field_manager), body=obj)

    async def patch(
        self,
        res: ResourceInfo,
        name: str,
        body: Any,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
        *,
        force: bool = False,
    ) -> Any:
        """PATCH with one of the four patch types; `apply` (server-side apply) needs `field_manager`."""
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(f"unknown patch type {patch_type!r}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        params = _params(fieldManager=field_manager, force=force if patch_type == "apply" else None)
        path = res.object_path(name, self._ns(res, namespace), subresource)
        return await self.request(
            "PATCH", path, params=params, body=body, content_type=PATCH_CONTENT_TYPES[patch_type]
        )

    async def delete(
        self,
        res: ResourceInfo,
        name: str,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        *,
        preconditions: dict[str, str] | None = None,
    ) -> Any:
        """DELETE; returns what the server returns (the object, or a Success Status)."""
        options: dict[str, Any] = {}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            options["preconditions"] = preconditions
        body = {"kind": "DeleteOptions", "apiVersion": "v1", **options} if options else None
        return await self.request("DELETE", res.object_path(name, self._ns(res, namespace)), body=body)

    async def watch(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = False,
    ) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
        """Yield `(type, object)` for each frame of `GET ...?watch=true` until the server ends the stream.

        An ERROR frame raises its `StatusError` (410 Expired: relist). A broken stream raises
        `ClientConnectionError`. Close the iterator (`contextlib.aclosing`) if you stop early.
        """
        params = _params(
            watch=True,
            labelSelector=label_selector or None,
            fieldSelector=field_selector or None,
            resourceVersion=resource_version,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks=allow_bookmarks,
        )
        path = res.collection_path(namespace if res.namespaced else None)
        read = None if timeout_seconds is None else timeout_seconds + WATCH_SLACK
        timeout = httpx.Timeout(connect=5.0, read=read, write=30.0, pool=5.0)
        try:
            async with self._streams.stream("GET", path, params=params, timeout=timeout) as resp:
                if not resp.is_success:
                    await resp.aread()
                    raise status_error(resp)
                async for line in _lines(resp):
                    if not line.strip():
                        continue
                    try:
                        frame = serialization.loads(line)
                        etype, obj = str(frame["type"]), frame.get("object") or {}
                    except (ValueError, KeyError, TypeError) as exc:
                        msg = f"malformed watch frame: {line[:200].decode('utf-8', 'replace')!r}"
                        raise StatusError(500, "InternalError", msg) from exc
                    if etype == "ERROR":
                        raise StatusError.from_status(obj, 500)
                    yield etype, obj
        except httpx.TransportError as exc:
            raise self._conn_error("WATCH", path, exc) from exc


async def retry_on_conflict(fn: Callable[[], Awaitable[T]], attempts: int = 5, delay: float = 0.01) -> T:
    """Run `fn` (read, change, write) again while it raises 409 Conflict, a few times with a growing pause."""
    backoff = Backoff(initial=delay, cap=math.inf)
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except StatusError as err:
            if not is_conflict(err) or attempt == attempts:
                raise
            await asyncio.sleep(backoff.next())
    raise AssertionError("unreachable")  # pragma: no cover
