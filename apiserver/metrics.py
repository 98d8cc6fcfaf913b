"""Prometheus metrics of the apiserver, named as kube-apiserver names them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from apimachinery import buildinfo

registry = CollectorRegistry()

# kube-apiserver's request metrics (k8s.io/apiserver/pkg/endpoints/metrics): names, labels, buckets. `verb` is
# upper case (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE), `scope` resource, namespace or cluster,
# `component` apiserver; kubernetes-mixin's rules select on these.
REQUEST_LABELS = ["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"]
requests_total = Counter(
    "apiserver_request_total",
    "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, "
    "component, and HTTP response code.",
    [*REQUEST_LABELS, "code"],
    registry=registry,
)
request_duration = Histogram(
    "apiserver_request_duration_seconds",
    "Response latency distribution in seconds for each verb, dry run value, group, version, resource, "
    "subresource, scope and component.",
    REQUEST_LABELS,
    buckets=(
        0.005,
        0.025,
        0.05,
        0.1,
        0.2,
        0.4,
        0.6,
        0.8,
        1.0,
        1.25,
        1.5,
        2,
        3,
        4,
        5,
        6,
        8,
        10,
        15,
        20,
        30,
        45,
        60,
    ),
    registry=registry,
)
request_sli_duration = Histogram(
    "apiserver_request_sli_duration_seconds",
    "Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in "
    "seconds for each verb, group, version, resource, subresource, scope and component.",
    [label for label in REQUEST_LABELS if label != "dry_run"],
    buckets=(0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60),
    registry=registry,
)
storage_objects = Gauge(
    "apiserver_storage_objects",
    "Number of stored objects at the time of last check split by kind.",
    ["resource"],
    registry=registry,
)
buildinfo.register(registry)
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


def observe_request(labels: dict[str, str], code: int, seconds: float | None) -> None:
    """One finished request: counted, and (unless it is a watch, which lasts as long as the client wants) timed."""
    requests_total.labels(**labels, code=str(code)).inc()
    if seconds is not None:
        request_duration.labels(**labels).observe(seconds)
        request_sli_duration.labels(**{k: v for k, v in labels.items() if k != "dry_run"}).observe(seconds)


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
