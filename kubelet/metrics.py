"""The kubelet's Prometheus metrics, in a registry of its own so that several kubelets can share one process."""

from __future__ import annotations

from apimachinery.metricdefs import Metrics


class KubeletMetrics:
    """Pod start latency, running pods/containers and Docker operation latency (names as in the real kubelet)."""

    def __init__(self) -> None:
        m = Metrics()
        self.registry = m.registry
        self.pod_start_duration = m.histogram(
            "kubelet_pod_start_duration_seconds",
            "Duration from a pod's creation to all its containers running, as seen by this kubelet.",
            buckets=(0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 20, 30, 60, 120),
        )
        self.running_pods = m.gauge("kubelet_running_pods", "Pods with a running sandbox.")
        self.running_containers = m.gauge(
            "kubelet_running_containers", "App and init containers in state running."
        )
        self.docker_operation_duration = m.histogram(
            "kubelet_docker_operations_duration_seconds",
            "Latency of Docker Engine API calls, by operation.",
            ["operation_type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.docker_operation_errors = m.counter(
            "kubelet_docker_operations_errors", "Docker Engine API calls that failed.", ["operation_type"]
        )
        self.streaming_sessions = m.gauge(
            "kubelet_streaming_sessions_open",
            "Open exec, attach and port-forward sessions, by kind.",
            ["kind"],
        )
        self.streaming_sessions_total = m.counter(
            "kubelet_streaming_sessions_started",
            "Exec, attach and port-forward sessions started, by kind.",
            ["kind"],
        )
