"""kube-dns's Prometheus metrics, named as CoreDNS names them (so CoreDNS dashboards and alerts read them)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# CoreDNS's buckets for request durations (plugin/metrics/vars), in seconds.
DURATION_BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512,
                    1.024, 2.048, 4.096, 8.192)  # fmt: skip


class DNSMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "coredns_dns_requests_total", "DNS requests, by protocol, address family and query type.",
            ["server", "zone", "proto", "family", "type"], registry=r,
        )  # fmt: skip
        self.responses = Counter(
            "coredns_dns_responses_total", "DNS responses, by response code.",
            ["server", "zone", "rcode"], registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "coredns_dns_request_duration_seconds", "Time from a request's arrival to its answer being sent.",
            ["server", "zone", "type"], buckets=DURATION_BUCKETS, registry=r,
        )  # fmt: skip
        self.forward_requests = Counter(
            "coredns_forward_requests_total", "Queries sent to an upstream resolver.", ["to"], registry=r
        )
        self.forward_responses = Counter(
            "coredns_forward_responses_total", "Answers from an upstream resolver, by rcode.", ["to", "rcode"],
            registry=r,
        )  # fmt: skip
        self.forward_duration = Histogram(
            "coredns_forward_request_duration_seconds", "Round trip to an upstream resolver.", ["to"],
            buckets=DURATION_BUCKETS, registry=r,
        )  # fmt: skip
        self.malformed = Counter(
            "kubedns_malformed_requests_total",
            "Datagrams or TCP messages that were not DNS queries.",
            registry=r,
        )
        self.cache_objects = Gauge(
            "kubedns_cache_objects", "Objects in the informer caches, by resource.", ["resource"], registry=r
        )
