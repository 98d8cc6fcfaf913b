"""Kubelet failover on real Docker: how long after a kubelet dies is its Deployment back at full strength?

    flock /tmp/kubelite-host.lock .venv/bin/python bench/failover.py [--replicas 6] [--grace 5] [--toleration 5]
                                                                     [--runs 3]

Starts a whole cluster on this machine (etcd, apiserver, scheduler, controller-manager and two real kubelets
on Docker with CNI bridges; needs root and Docker), creates a Deployment of busybox httpd pods behind an HTTP
readiness probe and waits until it is available. Then it SIGKILLs the kubelet with the most pods
(its Lease stops; its containers keep running) and times, from the kill: the node going NotReady
(Ready=Unknown, after --node-monitor-grace-period = --grace), the first and the last eviction of its pods
(after the shortened default unreachable toleration, --toleration), and the Deployment back at full strength
(every replica Ready on the surviving node). With --runs N the whole cluster is started N times.
Writes bench/results/failover.json (bench/record.py): the median of every measure over the runs, and each
measure's summary over the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import summarize  # noqa: E402
from bench.options import bench_parser  # noqa: E402
from bench.record import Recording  # noqa: E402
from bench.report import show  # noqa: E402
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


def unit(key: str) -> str:
    return "s" if key.endswith("_s") else "pods"


def main() -> None:
    p = bench_parser(__doc__)
    p.add_argument("--replicas", type=int, default=6)
    p.add_argument("--grace", type=int, default=5, help="--node-monitor-grace-period, seconds")
    p.add_argument(
        "--toleration", type=int, default=5, help="default not-ready/unreachable tolerationSeconds"
    )
    p.add_argument("--runs", type=int, default=3, help="start the cluster and kill a kubelet this many times")
    args = p.parse_args()
    if not docker_ok():
        sys.exit("Docker engine not available")
    if os.geteuid() != 0:
        sys.exit("needs root (the kubelets make bridges, routes and iptables rules)")
    rec = Recording("failover", {**vars(args), "nodes": 2, "kubelet_lease_renew_interval_s": 2})
    runs = [one_run(args) for _ in range(args.runs)]
    keys = [key for _label, key in MEASURES if all(r.get(key) is not None for r in runs)]
    rec.write(
        figures={key: statistics.median(r[key] for r in runs) for key in keys},
        samples={f"{key} (per run)": summarize([r[key] for r in runs], unit(key)) for key in keys},
        notes=[
            f"Medians over {args.runs} runs, each on a freshly started cluster (2 real kubelets on Docker with "
            "CNI, busybox httpd pods behind an HTTP readiness probe); times from the SIGKILL of the kubelet with "
            "the most pods."
        ],
    )
    show("controllers")


if __name__ == "__main__":
    main()
