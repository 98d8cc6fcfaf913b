"""Declaring a component's Prometheus metrics in a registry of its own.

Each component keeps its metrics in its own `CollectorRegistry` (several kubelets or schedulers may share one
process in tests), so every declaration would repeat `registry=...`. `Metrics(registry)` says it once:

    m = Metrics()
    pods = m.gauge("kubelet_running_pods", "Pods with a running sandbox.")
    ops = m.histogram("kubelet_docker_operations_duration_seconds", "...", ["operation_type"], buckets=(...))
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    def histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        *,
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    ) -> Histogram:
        return Histogram(name, documentation, labels, buckets=buckets, registry=self.registry)
