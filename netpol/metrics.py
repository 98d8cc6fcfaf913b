"""kube-netpol's Prometheus metrics, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class PolicyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sync_duration = Histogram(
            "netpol_sync_duration_seconds",
            "How long one sync took: plan, ipset restore and iptables-restore.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.sync_failures = Counter("netpol_sync_failures", "Syncs that failed (retried).", registry=r)
        self.last_sync = Gauge(
            "netpol_last_sync_timestamp_seconds", "Unix time of the last successful sync.", registry=r
        )
        self.restores = Counter(
            "netpol_restores", "Restores run, by tool (iptables, ipset).", ["tool"], registry=r
        )
        self.rules = Gauge("netpol_iptables_rules", "Rules in our chains after the last sync.", registry=r)
        self.chains = Gauge("netpol_iptables_chains", "Our chains after the last sync.", registry=r)
        self.sets = Gauge("netpol_ipsets", "Our ipsets after the last sync.", registry=r)
        self.set_entries = Gauge(
            "netpol_ipset_entries", "Entries in our ipsets after the last sync.", registry=r
        )
        self.policies = Gauge("netpol_policies", "NetworkPolicies known.", registry=r)
        self.local_policies = Gauge(
            "netpol_policies_programmed", "Policies that select a pod of this node (have chains).", registry=r
        )
        self.isolated_pods = Gauge(
            "netpol_isolated_pods", "Pods of this node isolated by policies.", ["direction"], registry=r
        )
        self.skipped = Counter(
            "netpol_skipped_entries", "Policy entries skipped because a value failed its check.", registry=r
        )
