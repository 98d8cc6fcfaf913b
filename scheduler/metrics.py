"""The scheduler's Prometheus metrics, in a registry of their own (several schedulers may share a process in tests).

Names, labels and buckets follow kube-scheduler 1.32 where it has them: `scheduler_schedule_attempts_total{result,
profile}`, `scheduler_pending_pods{queue}`, `scheduler_scheduling_attempt_duration_seconds{result, profile}` (one
attempt: filter and score, plus the binding when it succeeds), `scheduler_pod_scheduling_sli_duration_seconds
{attempts}` (from the pod's first arrival in the queue to its binding; it replaced the removed
`scheduler_e2e_scheduling_duration_seconds`) and `scheduler_scheduling_algorithm_duration_seconds`.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from apimachinery.metricdefs import Metrics

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60)
ATTEMPT_BUCKETS = tuple(0.001 * 2**i for i in range(15))  # ExponentialBuckets(0.001, 2, 15)
SLI_BUCKETS = tuple(0.01 * 2**i for i in range(20))  # ExponentialBuckets(0.01, 2, 20)
ALGORITHM_BUCKETS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        m = Metrics(registry)
        self.registry = m.registry
        self.attempts = m.counter(
            "scheduler_schedule_attempts",
            "Scheduling attempts by result (scheduled, unschedulable, error).",
            ["result", "profile"],
        )
        self.attempt_latency = m.histogram(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            ["result", "profile"],
            buckets=ATTEMPT_BUCKETS,
        )
        self.sli_latency = m.histogram(
            "scheduler_pod_scheduling_sli_duration_seconds",
            "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might "
            "involve multiple scheduling attempts.",
            ["attempts"],
            buckets=SLI_BUCKETS,
        )
        self.algorithm_latency = m.histogram(
            "scheduler_scheduling_algorithm_duration_seconds",
            "Time to filter and score the nodes for one attempt.",
            buckets=ALGORITHM_BUCKETS,
        )
        self.binding_latency = m.histogram(
            "scheduler_binding_duration_seconds",
            "Time of the POST pods/binding request.",
            buckets=LATENCY_BUCKETS,
        )
        self.pending = m.gauge(
            "scheduler_pending_pods", "Pending pods by queue (active, backoff, unschedulable).", ["queue"]
        )
        self.leader = m.gauge(
            "scheduler_leader", "1 while this scheduler holds the leader lease (or runs without election)."
        )

    def watch_queue(self, lengths: Callable[[], dict[str, int]]) -> None:
        """Report queue lengths at scrape time."""
        for name in ("active", "backoff", "unschedulable"):
            self.pending.labels(queue=name).set_function(lambda name=name: lengths()[name])  # type: ignore[misc]
