"""The kubelet's Prometheus metrics, in a registry of its own so that several kubelets can share one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class KubeletMetrics:
    """Pod start latency, running pods/containers and Docker operation latency (names as in the real kubelet)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.pod_start_duration = Histogram(
            "kubelet_pod_start_duration_seconds",
            "Duration from a pod's creation to all its containers running, as seen by this kubelet.",
            buckets=(0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 20, 30, 60, 120),
            registry=self.registry,
        )
        self.running_pods = Gauge(
            "kubelet_running_pods", "Pods with a running sandbox.", registry=self.registry
        )
        self.running_containers = Gauge(
            "kubelet_running_containers", "App and init containers in state running.", registry=self.registry
        )
        self.docker_operation_duration = Histogram(
            "kubelet_docker_operations_duration_seconds",
            "Latency of Docker Engine API calls, by operation.",
            ["operation_type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.docker_operation_errors = Counter(
            "kubelet_docker_operations_errors",
            "Docker Engine API calls that failed.",
            ["operation_type"],
            registry=self.registry,
        )
        self.streaming_sessions = Gauge(
            "kubelet_streaming_sessions_open",
            "Open exec, attach and port-forward sessions, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.streaming_sessions_total = Counter(
            "kubelet_streaming_sessions_started",
            "Exec, attach and port-forward sessions started, by kind.",
            ["kind"],
            registry=self.registry,
        )
