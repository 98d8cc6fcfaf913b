"""Kubelet failover on real Docker: how long after a kubelet dies is its Deployment back at full strength?

    .venv/bin/python bench/failover.py [--replicas 6] [--grace 5] [--toleration 5] [--runs 1]

Starts a whole cluster on this machine (etcd, apiserver, scheduler, controller-manager and two real kubelets
on Docker with CNI bridges; needs root and Docker), creates a Deployment of busybox httpd pods behind an HTTP
readiness probe and waits until it is available. Then it SIGKILLs the kubelet with the most pods
(its Lease stops; its containers keep running) and times, from the kill: the node going NotReady
(Ready=Unknown, after --node-monitor-grace-period = --grace), the first and the last eviction of its pods
(after the shortened default unreachable toleration, --toleration), and the Deployment back at full strength
(every replica Ready on the surviving node). With --runs N the whole cluster is started N times.
Prints a table and writes JSON to bench/results/failover-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.cluster.cluster import LocalCluster  # noqa: E402
from tests.e2e.cluster.watchers import measure_failover  # noqa: E402
from tests.harness import docker_ok  # noqa: E402

NAME = "web"


def one_run(args: argparse.Namespace) -> dict[str, Any]:
    cluster = LocalCluster(grace=args.grace, toleration=args.toleration, prefix="kb")
    try:
        t0 = time.monotonic()
        cluster.start()
        started_s = time.monotonic() - t0
        ns = cluster.namespace()
        cluster.create_deployment(ns, NAME, args.replicas)
        available_s = cluster.wait_rollout(ns, NAME, 120)
        by_node = Counter(p["spec"]["nodeName"] for p in cluster.live_ready_pods(ns, NAME))
        victim = cluster.a if by_node[cluster.a.name] >= by_node[cluster.b.name] else cluster.b
        result = measure_failover(cluster, ns, NAME, victim, timeout=120).as_dict()
        result.update(
            cluster_start_s=round(started_s, 3),
            create_to_available_s=round(available_s, 3),
            pods_by_node_before=sorted(by_node.values(), reverse=True),
        )
        return result
    finally:
        cluster.stop()


MEASURES = [
    ("cluster start (all components ready)", "cluster_start_s"),
    ("create -> all available", "create_to_available_s"),
    ("pods on the killed node", "pods_on_killed_node"),
    ("kill -> node NotReady (Unknown)", "killed_to_not_ready_s"),
    ("kill -> its pods Ready=False", "killed_to_pods_not_ready_s"),
    ("kill -> first eviction", "killed_to_first_eviction_s"),
    ("kill -> all its pods evicted", "killed_to_all_evicted_s"),
    ("kill -> full strength again", "killed_to_full_strength_s"),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, default=6)
    p.add_argument("--grace", type=int, default=5, help="--node-monitor-grace-period, seconds")
    p.add_argument(
        "--toleration", type=int, default=5, help="default not-ready/unreachable tolerationSeconds"
    )
    p.add_argument("--runs", type=int, default=1, help="start the cluster and kill a kubelet this many times")
    args = p.parse_args()
    if not docker_ok():
        sys.exit("Docker engine not available")
    if os.geteuid() != 0:
        sys.exit("needs root (the kubelets make bridges, routes and iptables rules)")

    runs = [one_run(args) for _ in range(args.runs)]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result: dict[str, Any] = {
        "replicas": args.replicas,
        "nodes": 2,
        "node_monitor_grace_period_s": args.grace,
        "default_toleration_s": args.toleration,
        "kubelet_lease_renew_interval_s": 2,
        "runs": runs,
        "median": {
            key: statistics.median_low(r[key] for r in runs)
            for _label, key in MEASURES
            if all(r.get(key) is not None for r in runs)
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "timestamp": stamp,
    }

    print(
        f"{args.replicas} replicas on 2 kubelets (real Docker); grace period {args.grace} s, "
        f"default toleration {args.toleration} s; {args.runs} run(s)\n"
    )
    width = max(len(label) for label, _ in MEASURES)
    header = f"{'measure'.ljust(width)}  " + "  ".join(f"run {i + 1:>3}" for i in range(len(runs)))
    if len(runs) > 1:
        header += "   median"
    print(header)
    for label, key in MEASURES:
        cells = [_cell(r.get(key)) for r in runs]
        line = f"{label.ljust(width)}  " + "  ".join(c.rjust(7) for c in cells)
        if len(runs) > 1:
            line += "  " + _cell(result["median"].get(key)).rjust(7)
        print(line)
    out = REPO / "bench" / "results" / f"failover-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(REPO)}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f} s"
    return str(value)


if __name__ == "__main__":
    main()
