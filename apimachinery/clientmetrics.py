"""client-go's REST client metrics for the shared client (apimachinery.client), in the default registry every
component's /metrics exposes: `rest_client_requests_total{code, method, host}` (code `<error>` when no response
came) and `rest_client_request_duration_seconds{verb, host}` (until the response headers), with client-go's names,
labels and buckets (k8s.io/component-base/metrics/prometheus/restclient)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "rest_client_requests_total",
    "Number of HTTP requests, partitioned by status code, method, and host.",
    ["code", "method", "host"],
)
LATENCY = Histogram(
    "rest_client_request_duration_seconds",
    "Request latency in seconds. Broken down by verb, and host.",
    ["verb", "host"],
    buckets=(0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0),
)

_START = "kubelite.start"


def _host(url: httpx.URL) -> str:
    return url.netloc.decode("ascii", "replace")


async def on_request(request: httpx.Request) -> None:
    request.extensions[_START] = time.perf_counter()


async def on_response(response: httpx.Response) -> None:
    request = response.request
    host = _host(request.url)
    REQUESTS.labels(str(response.status_code), request.method, host).inc()
    start = request.extensions.get(_START)
    if start is not None:
        LATENCY.labels(request.method, host).observe(time.perf_counter() - start)


def failed(method: str, url: httpx.URL) -> None:
    """A request that got no response (connection refused, reset, timed out)."""
    REQUESTS.labels("<error>", method, _host(url)).inc()


HOOKS: dict[str, list[Callable[..., Any]]] = {"request": [on_request], "response": [on_response]}
