"""Prometheus metrics of the apiserver, named as kube-apiserver names them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from prometheus_client.metrics import MetricWrapperBase

from apimachinery import buildinfo
from apimachinery.metricdefs import Metrics

M = TypeVar("M", bound=MetricWrapperBase)

_metrics = Metrics()
registry = _metrics.registry

# kube-apiserver's request metrics (k8s.io/apiserver/pkg/endpoints/metrics): names, labels, buckets. `verb` is
# upper case (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE), `scope` resource, namespace or cluster,
# `component` apiserver; kubernetes-mixin's rules select on these.
REQUEST_LABELS = ["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"]
requests_total = _metrics.counter(
    "apiserver_request_total",
    "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, "
    "component, and HTTP response code.",
    [*REQUEST_LABELS, "code"],
)
request_duration = _metrics.histogram(
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
)
request_sli_duration = _metrics.histogram(
    "apiserver_request_sli_duration_seconds",
    "Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in "
    "seconds for each verb, group, version, resource, subresource, scope and component.",
    [label for label in REQUEST_LABELS if label != "dry_run"],
    buckets=(0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60),
)
storage_objects = _metrics.gauge(
    "apiserver_storage_objects",
    "Number of stored objects at the time of last check split by kind.",
    ["resource"],
)
buildinfo.register(registry)
storage_duration = _metrics.histogram(
    "etcd_request_duration_seconds",
    "Storage operation latency by operation and resource.",
    ["operation", "type"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
watchers = _metrics.gauge("apiserver_registered_watchers", "Open watch requests by resource.", ["resource"])
watch_events = _metrics.counter(
    "apiserver_watch_events_total", "Watch events sent by resource.", ["resource"]
)
storage_watches = _metrics.gauge(
    "apiserver_storage_watches",
    "Watches this apiserver holds open on storage, by backend: etcd watch streams, SQLite log followers.",
    ["backend"],
)
cache_size = _metrics.gauge("apiserver_watch_cache_objects", "Objects held by the watch cache.", ["resource"])
rejected_inflight = _metrics.counter(
    "apiserver_dropped_requests_total",
    "Requests refused with 429 by the in-flight limits, by request kind (readOnly, mutating).",
    ["request_kind"],
)
inflight_requests = _metrics.gauge(
    "apiserver_current_inflight_requests",
    "Requests in progress that count against the in-flight limits, by request kind.",
    ["request_kind"],
)


@contextmanager
def storage_timer(operation: str, resource: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        child(storage_duration, operation, resource).observe(time.perf_counter() - start)


_SLI_LABELS = [label for label in REQUEST_LABELS if label != "dry_run"]


def observe_request(labels: dict[str, str], code: int, seconds: float | None) -> None:
    """One finished request: counted, and (unless it is a watch, which lasts as long as the client wants) timed.
    `labels` holds every one of REQUEST_LABELS."""
    values = tuple(labels[name] for name in REQUEST_LABELS)
    child(requests_total, *values, str(code)).inc()
    if seconds is not None:
        child(request_duration, *values).observe(seconds)
        child(request_sli_duration, *(labels[name] for name in _SLI_LABELS)).observe(seconds)


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: M, *values: str) -> M:
    """`metric.labels(*values)`, remembered: prometheus_client takes a lock and converts and checks every value on
    each call, which the request path pays several times per request. Nothing removes a child from these metrics
    (no `.remove()` or `.clear()`), so a remembered child is the one `labels()` returns."""
    key = (id(metric), values)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*values)
    return cast(M, found)


streams_open = _metrics.gauge(
    "apiserver_pod_streams_open",
    "Open exec, attach and port-forward sessions relayed to kubelets, by subresource.",
    ["subresource"],
)
streams_total = _metrics.counter(
    "apiserver_pod_streams",
    "Exec, attach and port-forward sessions relayed to kubelets, by subresource.",
    ["subresource"],
)
