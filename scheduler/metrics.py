"""The scheduler's Prometheus metrics, in a registry of their own (several schedulers may share a process in tests).

Names follow kube-scheduler where it has one: `scheduler_schedule_attempts_total{result}`,
`scheduler_pending_pods{queue}`, `scheduler_e2e_scheduling_duration_seconds` (first queued -> bound),
`scheduler_scheduling_algorithm_duration_seconds` (filter + score of one attempt).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60)
ALGORITHM_BUCKETS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.attempts = Counter(
            "scheduler_schedule_attempts",
            "Scheduling attempts by result (scheduled, unschedulable, error).",
            ["result", "profile"],
            registry=self.registry,
        )
        self.e2e_latency = Histogram(
            "scheduler_e2e_scheduling_duration_seconds",
            "From the pod's first arrival in the scheduling queue to its successful binding.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.algorithm_latency = Histogram(
            "scheduler_scheduling_algorithm_duration_seconds",
            "Time to filter and score the nodes for one attempt.",
            buckets=ALGORITHM_BUCKETS,
            registry=self.registry,
        )
        self.binding_latency = Histogram(
            "scheduler_binding_duration_seconds",
            "Time of the POST pods/binding request.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.pending = Gauge(
            "scheduler_pending_pods",
            "Pending pods by queue (active, backoff, unschedulable).",
            ["queue"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "scheduler_leader",
            "1 while this scheduler holds the leader lease (or runs without election).",
            registry=self.registry,
        )

    def watch_queue(self, lengths: Callable[[], dict[str, int]]) -> None:
        """Report queue lengths at scrape time."""
        for name in ("active", "backoff", "unschedulable"):
            self.pending.labels(queue=name).set_function(lambda name=name: lengths()[name])  # type: ignore[misc]
