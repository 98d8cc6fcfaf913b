"""What the kubelet's stats collection costs: one real kubelet with N pods (default 30), its process CPU measured
with collection off (--housekeeping-interval 0) and on (the default 10 s), in the same run, alternating.

    flock /tmp/kubelite-host.lock .venv/bin/python bench/kubelet_stats.py [--pods 30] [--rounds 2] [--window 45]

Needs root, Docker and the CNI plugins (run it under the host lock). Starts etcd, the apiserver, the token
controllers and one kubelet; creates N pods (pause + busybox `sleep`) and waits for them Running. Then, for --rounds
rounds in alternating order, restarts the kubelet with collection off or on (it re-adopts the running pods), lets it
settle, and reads its CPU time (utime + stime from /proc/<pid>/stat) over --window seconds. The cost of collection
is the difference of the two CPU rates, as a share of one core.

Also, in this process, the collector (kubelet/stats/collector.py) itself over the same N pods: CPU seconds per
round (thread time of its Docker list and file reads), divided by the 10 s interval: a second, direct figure.
Writes bench/results/kubelet_stats.json (bench/record.py).
"""

from __future__ import annotations

import asyncio
import random
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

from bench import cpu
from bench.common import ControlPlane, alternate, control_plane, kubelet, summarize, token_controllers
from bench.options import bench_options
from bench.record import Recording, target
from kubelet.runtime.docker import DockerRuntime
from kubelet.stats.collector import StatsCollector
from tests.e2e.kubelet.helpers import cleanup_node
from tests.harness import wait_until
from tests.images import BUSYBOX_IMAGE, ensure_images

INTERVAL = 10.0
SETTLE = 15.0  # after a (re)start: the kubelet re-adopts every pod, which is not what is measured


def create_pods(cp: ControlPlane, node: str, n: int) -> str:
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    with cp.http_sync() as api:
        api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        wait_until(lambda: api.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default").status_code == 200, 30,
                   what="the default ServiceAccount")  # fmt: skip
        for i in range(n):
            pod = {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "app", "image": BUSYBOX_IMAGE, "command": ["sleep", "3600"]}]},
            }  # fmt: skip
            api.post(f"/api/v1/namespaces/{ns}/pods", json=pod).raise_for_status()

        def all_running() -> bool:
            items = api.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]
            return len(items) == n and all((p.get("status") or {}).get("phase") == "Running" for p in items)

        wait_until(all_running, 180, 1.0, what=f"{n} pods Running")
    return ns


def process_rate(proc: Any, on: bool, window: float, pods: int) -> float:
    """Restart the kubelet with collection on or off; its CPU rate (cores) over `window` once settled."""
    proc.stop()
    proc.extra = ["--housekeeping-interval", str(INTERVAL if on else 0)]
    proc.start()
    time.sleep(SETTLE)  # a fixed warm-up measured from outside, not a wait for a condition
    pid = proc.proc.pid
    t0, c0 = time.monotonic(), cpu.process_seconds(pid)
    time.sleep(window)
    rate = (cpu.process_seconds(pid) - c0) / (time.monotonic() - t0)
    tls = proc.apiserver.pki.ssl_context("kube-apiserver-kubelet-client", ())
    answer = httpx.get(f"https://127.0.0.1:{proc.port}/stats/summary", verify=tls, timeout=10)
    collected = len(answer.json()["pods"]) if answer.status_code == 200 else 0
    if on != (collected == pods):  # the phase really had collection on (all pods seen) or off (404)
        raise SystemExit(f"collection {'on' if on else 'off'} but /stats/summary answered {answer.status_code} "
                         f"with {collected} pods")  # fmt: skip
    return rate


async def in_process_cost(node: str, rounds: int) -> tuple[float, int]:
    """CPU seconds per collection round over the node's pods, and how many pods a round saw."""
    runtime = DockerRuntime(node)
    collector = StatsCollector(runtime, node, Path("/"), interval=INTERVAL)
    try:
        await collector.collect()  # the first round inspects every container once
        before, first = collector.cpu_seconds, collector.rounds
        for _ in range(rounds):
            snapshot = await collector.collect()
        return (collector.cpu_seconds - before) / (collector.rounds - first), len(snapshot.pods)
    finally:
        await runtime.aclose()


def main() -> None:
    args = bench_options(__doc__, pods=30, rounds=2, window=45.0)
    rec = Recording("kubelet_stats", vars(args))
    ensure_images()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-stats-"))
    node = f"bench{uuid.uuid4().hex[:5]}"
    rates: dict[str, list[float]] = {"off": [], "on": []}
    with control_plane() as cp, token_controllers(cp):
        proc = kubelet(cp, node, f"10.244.{random.randrange(100, 250)}.0/24", tmp / "kubelet",
                       ["--housekeeping-interval", "0"])  # fmt: skip
        try:
            proc.start()
            create_pods(cp, node, args.pods)
            for r, order in alternate("off", "on", args.rounds):
                for phase in order:
                    rates[phase].append(process_rate(proc, phase == "on", args.window, args.pods))
                    print(f"round {r} {phase}: {rates[phase][-1] * 100:.2f}% of a core", flush=True)
            per_round, seen = asyncio.run(in_process_cost(node, 20))
        finally:
            proc.stop()
            cleanup_node(proc)
            proc.discard_log()
            shutil.rmtree(tmp, ignore_errors=True)
    off, on = statistics.mean(rates["off"]), statistics.mean(rates["on"])
    cost = on - off
    direct = per_round / INTERVAL
    print(f"kubelet CPU: off {off * 100:.2f}%, on {on * 100:.2f}% of a core: collection {cost * 100:.2f}%")
    print(
        f"collector in process: {per_round * 1000:.1f} ms CPU per round over {seen} pods = {direct * 100:.3f}%"
    )
    rec.write(
        figures={
            "kubelet_cpu_collection_on_cores": on,
            "kubelet_cpu_collection_off_cores": off,
            "collection_cost_cores": cost,
            "collector_cpu_seconds_per_round": per_round,
            "collector_cost_cores": direct,
            "pods_seen": seen,
        },
        targets=[
            target(
                "stats collection under 2% of one core (process, on - off)",
                "collection_cost_cores",
                "<=",
                0.02,
                cost,
            ),
            target(
                "collector's own CPU per 10 s interval under 2% of one core",
                "collector_cost_cores",
                "<=",
                0.02,
                direct,
            ),
        ],
        samples={"off": summarize(rates["off"], "cores"), "on": summarize(rates["on"], "cores")},
        notes=[f"interval {INTERVAL:g}s; each window {args.window:g}s after {SETTLE:g}s of settling"],
    )


if __name__ == "__main__":
    main()
