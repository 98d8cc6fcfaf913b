"""API server benchmark: write and read throughput against the raw storage rate measured in the same run, list
latency for 10,000 pods (from the watch cache and paged from storage), and watch delivery latency with 100 watchers.

    .venv/bin/python bench/apiserver.py [--backend etcd|sqlite|both] [--creates 3000] [--pods 10000] [--watchers 100]

It starts its own etcd (for the etcd backend) and apiserver on loopback, prints a table and writes JSON to
bench/results/apiserver-<backend>.json. Ratios, not absolute numbers, are what compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import httpload  # noqa: E402
from bench.common import percentile  # noqa: E402
from bench.storage_raw import raw_put_rate, raw_sqlite_put_rate  # noqa: E402
from tests.harness import ApiServer, Etcd, admin_tls  # noqa: E402

NS = "bench"


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "app", "image": "busybox:1", "command": ["sleep", "3600"]}]},
    }


async def create_rate(url: str, prefix: str, n: int, concurrency: int) -> float:
    def make(i: int) -> tuple[str, str, bytes]:
        return "POST", f"/api/v1/namespaces/{NS}/pods", json.dumps(pod(f"{prefix}-{i:05d}")).encode()

    return await httpload.run(url, n, concurrency, make, 201)


async def get_rate(url: str, prefix: str, existing: int, n: int, concurrency: int) -> float:
    def make(i: int) -> tuple[str, str, bytes]:
        return "GET", f"/api/v1/namespaces/{NS}/pods/{prefix}-{i % existing:05d}", b""

    return await httpload.run(url, n, concurrency, make, 200)


async def list_latency(client: httpx.AsyncClient, params: dict[str, str], runs: int = 5) -> tuple[float, int]:
    """Median seconds for a full list (following continue tokens) and the number of items."""
    times: list[float] = []
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = 0
        token = None
        while True:
            q = dict(params)
            if token:
                q["continue"] = token
            r = await client.get(f"/api/v1/namespaces/{NS}/pods", params=q)
            body = r.json()
            count += len(body["items"])
            token = body["metadata"].get("continue")
            if not token:
                break
        times.append(time.perf_counter() - start)
    return statistics.median(times), count


async def watch_latency(url: str, watchers: int, events: int, rate: float) -> list[float]:
    """Each of `watchers` streams receives `events` creates; latency = arrival - the moment the create was sent."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    ready = 0
    done = asyncio.Event()
    remaining = watchers * events
    limits = httpx.Limits(max_connections=watchers + 10)
    async with httpx.AsyncClient(
        verify=admin_tls(), base_url=url, timeout=httpx.Timeout(30, read=None), limits=limits
    ) as wc:
        rv = (await wc.get(f"/api/v1/namespaces/{NS}/pods", params={"limit": "1"})).json()["metadata"][
            "resourceVersion"
        ]

        async def watch() -> None:
            nonlocal ready, remaining
            params = {"watch": "1", "resourceVersion": rv, "labelSelector": "app=watch"}
            async with wc.stream("GET", f"/api/v1/namespaces/{NS}/pods", params=params) as r:
                ready += 1
                async for line in r.aiter_lines():
                    if not line:
                        continue
                    now = time.perf_counter()
                    name = json.loads(line)["object"]["metadata"]["name"]
                    if name in sent:
                        latencies.append(now - sent[name])
                        remaining -= 1
                        if remaining == 0:
                            done.set()
                            return

        tasks = [asyncio.create_task(watch()) for _ in range(watchers)]
        while ready < watchers:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        for i in range(events):
            name = f"watch-{i:04d}"
            body = pod(name)
            body["metadata"]["labels"] = {"app": "watch"}
            sent[name] = time.perf_counter()
            r = await wc.post(f"/api/v1/namespaces/{NS}/pods", json=body)
            assert r.status_code == 201, r.text
            await asyncio.sleep(1 / rate)
        try:
            await asyncio.wait_for(done.wait(), 60)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


async def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    etcd: Etcd | None = None
    data_dir = None
    if backend == "etcd":
        etcd = Etcd()
        etcd.start()
        server = ApiServer(etcd.url)
    else:
        data_dir = tempfile.mkdtemp(prefix="kubelite-bench-sqlite-")
        server = ApiServer(None, ["--storage-backend", "sqlite", "--data-dir", data_dir])
    server.start()
    results: dict[str, Any] = {"backend": backend}
    try:
        if etcd is not None:
            results["raw_put_per_s"] = await raw_put_rate(
                etcd.url, n=args.creates, concurrency=args.concurrency
            )
        else:
            results["raw_put_per_s"] = await asyncio.to_thread(
                raw_sqlite_put_rate, Path(tempfile.mkdtemp()), args.creates
            )
        limits = httpx.Limits(max_connections=args.concurrency + 10)
        async with httpx.AsyncClient(
            verify=admin_tls(), base_url=server.url, timeout=60, limits=limits
        ) as client:
            await client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
            results["api_create_per_s"] = await create_rate(server.url, "c", args.creates, args.concurrency)
            results["api_get_per_s"] = await get_rate(
                server.url, "c", args.creates, args.creates * 2, args.concurrency
            )
            # Fill up to --pods for the list measurements.
            await create_rate(server.url, "l", max(0, args.pods - args.creates), args.concurrency)
            results["list_cache_s"], results["list_items"] = await list_latency(
                client, {"resourceVersion": "0"}
            )
            results["list_consistent_s"], _ = await list_latency(client, {})
            results["list_paged_storage_s"], _ = await list_latency(client, {"limit": "500"})
        lat = await watch_latency(server.url, args.watchers, args.watch_events, args.watch_rate)
        results["watchers"] = args.watchers
        results["watch_p50_ms"] = percentile(lat, 50) * 1000
        results["watch_p99_ms"] = percentile(lat, 99) * 1000
        async with httpx.AsyncClient(verify=admin_tls(), base_url=server.url) as c:
            metrics = (await c.get("/metrics")).text
        results["storage_watches"] = (
            1  # one storage watch serves every cache (apiserver/watchcache.py Cacher)
        )
        results["open_watchers_metric_seen"] = "apiserver_registered_watchers" in metrics
        results["create_vs_raw"] = results["api_create_per_s"] / results["raw_put_per_s"]
    finally:
        server.stop()
        if etcd is not None:
            etcd.destroy()
    return results


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | raw put/s | API create/s | create/raw | API get/s | list 10k (cache) | list 10k (consistent) | "
        "list 10k (paged, storage) | watch p50 / p99 (100 watchers) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['raw_put_per_s']:.0f} | {r['api_create_per_s']:.0f} | {r['create_vs_raw']:.0%} | "
            f"{r['api_get_per_s']:.0f} | {r['list_cache_s'] * 1000:.0f} ms | {r['list_consistent_s'] * 1000:.0f} ms | "
            f"{r['list_paged_storage_s'] * 1000:.0f} ms | {r['watch_p50_ms']:.1f} / {r['watch_p99_ms']:.1f} ms |"
        )
    return "\n".join(lines)


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("etcd", "sqlite", "both"), default="both")
    p.add_argument("--creates", type=int, default=3000)
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--watch-events", type=int, default=100)
    p.add_argument("--watch-rate", type=float, default=20.0, help="creates per second while watching")
    args = p.parse_args()
    backends = ["etcd", "sqlite"] if args.backend == "both" else [args.backend]
    rows = [await bench_backend(b, args) for b in backends]
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = {
        "when": datetime.now(UTC).isoformat(),
        "machine": platform.platform(),
        "cpus": __import__("os").cpu_count(),
    }
    (out / "apiserver.json").write_text(json.dumps({**stamp, "args": vars(args), "results": rows}, indent=2))
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
