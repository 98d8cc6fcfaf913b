"""Service proxy overhead against direct pod access in the same run, and the time to program 1,000 services.

    flock /tmp/kubelite-host.lock .venv/bin/python bench/service.py [--requests 1000] [--services 1000] [--rounds 6]

Needs root, iptables, Docker and the CNI plugins (like the e2e tests; run it under the host lock). Starts its own
etcd, apiserver, one real kubelet and kube-proxy (bench/common.py), and one busybox httpd pod.

1. Latency: `--requests` sequential HTTP/1.0 GETs from this host, each on a new TCP connection (so every request
   pays the per-connection cost of the proxy: conntrack + DNAT, or the userspace accept + connect), directly to
   the pod IP and through the service's cluster IP. Direct and proxied requests alternate in `--rounds` blocks,
   and which goes first alternates too, so drift of the machine hits both alike. Phase A: kube-proxy in iptables mode; phase B: userspace mode.
2. Programming: with kube-proxy in iptables mode, create `--services` selector-less services and their Endpoints
   (2 addresses each; no traffic is sent to them) as fast as the apiserver takes them; time until iptables-save
   shows every one of them, then the time of one full rewrite (kube-proxy restarted with all of them present).
3. Write bench/results/service.json (bench/record.py) and print the README's table.

Traffic goes only to the pod, to the service address (guard-routed to a local device) and to loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ControlPlane,
    alternate,
    benchmark_main,
    control_plane,
    kube_proxy,
    kubelet,
    summarize,
)
from bench.netprobe import one_request
from bench.record import Recording, ratio, target
from tests.cluster import guard_route_restored, running_nodes
from tests.images import BUSYBOX_IMAGE, ensure_images
from tests.integration.proxy.helpers import iptables_save
from tests.polling import wait_until

Obj = dict[str, Any]


def compare(direct: tuple[str, int], proxied: tuple[str, int], total: int, rounds: int) -> dict[str, Any]:
    """Blocks of sequential requests to `direct` and `proxied`, alternating which goes first each round: every
    request's seconds and each side's wall time, per round."""
    for side in (direct, proxied):
        for _ in range(50):  # warm-up: ARP, conntrack, the httpd's page cache
            one_request(*side)
    out: dict[str, Any] = {
        "direct": [],
        "proxied": [],
        "walls": {"direct": 0.0, "proxied": 0.0},
        "round_ratios": [],
    }
    per_round = total // rounds
    targets = {"direct": direct, "proxied": proxied}
    for _r, order in alternate("direct", "proxied", rounds):
        means = {}
        for name in order:
            start = time.perf_counter()
            got = [one_request(*targets[name]) for _ in range(per_round)]
            out["walls"][name] += time.perf_counter() - start
            out[name] += got
            means[name] = statistics.fmean(got)
        out["round_ratios"].append(means["proxied"] / means["direct"])
    return out


def httpd_pod(node: str) -> Obj:
    return {
        "metadata": {"name": "srv", "labels": {"app": "srv"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,  # no controller-manager here to publish kube-root-ca.crt
            "containers": [
                {
                    "name": "httpd",
                    "image": BUSYBOX_IMAGE,
                    "command": [
                        "sh",
                        "-c",
                        "mkdir -p /www && echo srv > /www/index.html && exec httpd -f -p 8080 -h /www",
                    ],
                }
            ],
        },
    }


def service(name: str) -> Obj:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}


def endpoints(name: str, ips: list[str]) -> Obj:
    return {
        "metadata": {"name": name},
        "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 8080}]}],
    }


def programmed(ns: str) -> int:
    """How many services of `ns` have their cluster-IP rule in the nat table."""
    return len(re.findall(rf'--comment "{re.escape(ns)}/[^"]* cluster IP"', iptables_save("nat")))


async def create_services(cp: ControlPlane, ns: str, count: int, concurrency: int = 16) -> float:
    """Create `count` services and their Endpoints (2 made-up pod addresses each); returns the seconds it took."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    async with cp.http(timeout=30) as c:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                r = await c.post(f"/api/v1/namespaces/{ns}/services", json=service(f"s{i}"))
                r.raise_for_status()
                ips = [f"10.244.{200 + i // 250}.{i % 250 + 2}", f"10.244.{210 + i // 250}.{i % 250 + 2}"]
                r = await c.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints(f"s{i}", ips))
                r.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def scrape(proxy: Any) -> dict[str, float]:
    out = {}
    for line in proxy.metrics().splitlines():
        m = re.match(
            r"^(kubeproxy_sync_proxy_rules_duration_seconds_(?:sum|count)|"
            r'kubeproxy_sync_proxy_rules_iptables_total\{table="(?:nat|filter)"\}) (\S+)$',
            line,
        )
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def serve(api: httpx.Client, node: str) -> tuple[str, str]:
    """The httpd pod on `node` and its service: (pod IP, cluster IP), both answering."""
    ns = "bench-svc"
    api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
    api.post(f"/api/v1/namespaces/{ns}/pods", json=httpd_pod(node)).raise_for_status()

    def pod_ip() -> str | None:
        st = api.get(f"/api/v1/namespaces/{ns}/pods/srv").json().get("status", {})
        return st.get("podIP") if st.get("phase") == "Running" else None

    ip = str(wait_until(pod_ip, 60, 0.2, what="pod running"))
    wait_until(lambda: one_request(ip, 8080), 20, 0.1, what="httpd answering")
    api.post(f"/api/v1/namespaces/{ns}/services", json=service("srv")).raise_for_status()
    api.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints("srv", [ip])).raise_for_status()
    cluster_ip = api.get(f"/api/v1/namespaces/{ns}/services/srv").json()["spec"]["clusterIP"]
    wait_until(lambda: one_request(cluster_ip, 80), 20, 0.1, what="cluster IP")
    return ip, cluster_ip


def programming(cp: ControlPlane, api: httpx.Client, proxy: Any, count: int) -> dict[str, Any]:
    """With kube-proxy in iptables mode: create `count` services and time them into iptables-save; then one full
    rewrite (kube-proxy restarted with all of them present)."""
    many = "bench-many"
    api.post("/api/v1/namespaces", json={"metadata": {"name": many}}).raise_for_status()
    before = scrape(proxy)
    start = time.perf_counter()
    create_seconds = asyncio.run(create_services(cp, many, count))
    wait_until(lambda: programmed(many) >= count, 600, 0.5, what="all services programmed")
    program_seconds = time.perf_counter() - start
    after = scrape(proxy)
    count_key, sum_key = (f"kubeproxy_sync_proxy_rules_duration_seconds_{x}" for x in ("count", "sum"))
    syncs = after[count_key] - before[count_key]
    proxy.kill()  # restart with everything present: one full rewrite from scratch
    restart = time.perf_counter()
    proxy.start()
    restart_seconds = time.perf_counter() - restart
    full = scrape(proxy)
    return {
        "create_s": create_seconds,
        "created_to_programmed_s": program_seconds,
        "syncs_during_creation": syncs,
        "mean_sync_during_creation_s": (after[sum_key] - before[sum_key]) / syncs if syncs else None,
        "restart_to_synced_s": restart_seconds,
        "full_sync_s": full[sum_key],
        "nat_rules": full['kubeproxy_sync_proxy_rules_iptables_total{table="nat"}'],
        "filter_rules": full['kubeproxy_sync_proxy_rules_iptables_total{table="filter"}'],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if os.geteuid() != 0 or not shutil.which("iptables-restore") or not shutil.which("docker"):
        sys.exit("bench/service.py needs root, iptables and Docker")
    ensure_images()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-service-"))
    report: dict[str, Any] = {}
    with guard_route_restored(), control_plane() as cp:
        # Selector-less services with Endpoints written by hand (no controller mirrors them into slices here).
        source = ["--endpoints-source", "endpoints"]
        proxy = kube_proxy(cp, extra=["--min-sync-period", "1", "--sync-period", "60", *source])
        node = kubelet(cp, f"bsvc{uuid.uuid4().hex[:4]}", "10.244.251.0/24", tmp)
        try:
            proxy.start()  # guard routes before anything else
            with running_nodes([node]), cp.http_sync() as api:
                ip, cluster_ip = serve(api, node.name)
                report["iptables"] = compare((ip, 8080), (cluster_ip, 80), args.requests, args.rounds)
                proxy.stop()
                userspace = kube_proxy(cp, mode="userspace", extra=source)
                try:
                    userspace.start()
                    wait_until(lambda: one_request(cluster_ip, 80), 20, 0.1, what="cluster IP (userspace)")
                    report["userspace"] = compare((ip, 8080), (cluster_ip, 80), args.requests, args.rounds)
                finally:
                    userspace.stop()
                    userspace.discard_log()
                proxy.start()
                report["programming"] = programming(cp, api, proxy, args.services)
        finally:
            proxy.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)
    return report


def record(rec: Recording, report: dict[str, Any], args: argparse.Namespace) -> None:
    figures: dict[str, Any] = dict(report["programming"])
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    for mode in ("iptables", "userspace"):
        m = report[mode]
        figures[f"{mode}_cluster_ip_mean_ms"] = 1000 * statistics.fmean(m["proxied"])
        figures[f"{mode}_cluster_ip_per_s"] = len(m["proxied"]) / m["walls"]["proxied"]
        baseline[f"{mode}_direct_mean_ms"] = 1000 * statistics.fmean(m["direct"])
        baseline[f"{mode}_direct_per_s"] = len(m["direct"]) / m["walls"]["direct"]
        ratios[mode] = ratio(
            f"{mode}_cluster_ip_mean_ms", f"{mode}_direct_mean_ms", figures, baseline, shown="x"
        )
        samples[f"{mode} direct_ms (per request)"] = summarize([1000 * x for x in m["direct"]], "ms")
        samples[f"{mode} cluster_ip_ms (per request)"] = summarize([1000 * x for x in m["proxied"]], "ms")
        samples[f"{mode} mean ratio (per round)"] = summarize(m["round_ratios"], "ratio")
    targets = [
        target("ClusterIP (iptables) mean latency <= 1.10x direct", "iptables", "<=", 1.10, ratios["iptables"]["value"]),
        target("ClusterIP (userspace) mean latency <= 2x direct", "userspace", "<=", 2.0, ratios["userspace"]["value"]),
    ]  # fmt: skip
    notes = [
        "Sequential HTTP/1.0 GETs from this host, a new connection each, to the pod IP and to the cluster IP, in "
        f"{args.rounds} alternating blocks (direct first in even rounds); the ratio is of mean latencies.",
        f"Programming: {args.services} selector-less services with Endpoints of 2 made-up addresses each (no traffic "
        "to them); kube-proxy --min-sync-period 1.",
    ]
    rec.write(
        figures=figures, baseline=baseline, ratios=ratios, targets=targets, samples=samples, notes=notes
    )


def main() -> None:
    benchmark_main(__doc__ or "", "service", run, record, requests=1000, rounds=6, services=1000)


if __name__ == "__main__":
    main()
