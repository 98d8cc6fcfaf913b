"""Prometheus metrics of the apiserver, named as kube-apiserver names them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry()

requests_total = Counter(
    "apiserver_request_total",
    "Requests by verb, resource and HTTP code.",
    ["verb", "resource", "code"],
    registry=registry,
)
request_duration = Histogram(
    "apiserver_request_duration_seconds",
    "Request latency by verb and resource.",
    ["verb", "resource"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=registry,
)
storage_duration = Histogram(
    "etcd_request_duration_seconds",
    "Storage operation latency by operation and resource.",
    ["operation", "type"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=registry,
)
watchers = Gauge(
    "apiserver_registered_watchers", "Open watch requests by resource.", ["resource"], registry=registry
)
watch_events = Counter(
    "apiserver_watch_events_total", "Watch events sent by resource.", ["resource"], registry=registry
)
storage_watches = Gauge(
    "apiserver_storage_watches",
    "Watches this apiserver holds open on storage, by backend: etcd watch streams, SQLite log followers.",
    ["backend"],
    registry=registry,
)
cache_size = Gauge(
    "apiserver_watch_cache_objects", "Objects held by the watch cache.", ["resource"], registry=registry
)
rejected_inflight = Counter(
    "apiserver_dropped_requests_total",
    "Requests refused with 429 by the in-flight limits, by request kind (readOnly, mutating).",
    ["request_kind"],
    registry=registry,
)
inflight_requests = Gauge(
    "apiserver_current_inflight_requests",
    "Requests in progress that count against the in-flight limits, by request kind.",
    ["request_kind"],
    registry=registry,
)


@contextmanager
def storage_timer(operation: str, resource: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        storage_duration.labels(operation, resource).observe(time.perf_counter() - start)


streams_open = Gauge(
    "apiserver_pod_streams_open",
    "Open exec, attach and port-forward sessions relayed to kubelets, by subresource.",
    ["subresource"],
    registry=registry,
)
streams_total = Counter(
    "apiserver_pod_streams",
    "Exec, attach and port-forward sessions relayed to kubelets, by subresource.",
    ["subresource"],
    registry=registry,
)
