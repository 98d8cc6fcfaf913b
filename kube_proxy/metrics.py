"""kube-proxy's Prometheus metrics (names as in Kubernetes' kube-proxy), in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sync_duration = Histogram(
            "kubeproxy_sync_proxy_rules_duration_seconds",
            "How long one sync of the data plane (build + iptables-restore, or listener changes) took.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.sync_failures = Counter(
            "kubeproxy_sync_proxy_rules_failures", "Syncs that failed (retried).", registry=self.registry
        )
        self.last_sync = Gauge(
            "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
            "Unix time of the last successful sync.",
            registry=self.registry,
        )
        self.rules = Gauge(
            "kubeproxy_sync_proxy_rules_iptables_total",
            "iptables rules written by the last sync, by table (userspace mode: table=listeners).",
            ["table"],
            registry=self.registry,
        )
        self.service_ports = Gauge(
            "kubeproxy_service_ports", "Service ports proxied by the last sync.", registry=self.registry
        )
        self.endpoints = Gauge(
            "kubeproxy_endpoints", "Ready endpoints proxied by the last sync.", registry=self.registry
        )
        self.rejected = Counter(
            "kubeproxy_rejected_values_total",
            "Values of Services and Endpoints not turned into rules because they failed validation.",
            registry=self.registry,
        )
