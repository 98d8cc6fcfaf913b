"""API server benchmark: pod creates against raw storage writes in the same run (alternating, several rounds), gets,
10,000-pod lists (from the watch cache, consistent, paged from storage), watch delivery latency with 100 watchers,
and the number of watches the apiserver holds on storage, measured, with and without those 100 watchers.

    .venv/bin/python bench/apiserver.py [--backend etcd|sqlite|both] [--rounds 3] [--creates 3000] [--pods 10000]
                                        [--watchers 100]

Starts its own etcd (etcd backend) or SQLite data dir, and apiserver, on loopback (bench/common.py). Writes
bench/results/apiserver-<backend>.json (bench/record.py). Ratios, not absolute numbers, compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import httpload
from bench.common import ControlPlane, alternate, control_plane, percentile, summarize
from bench.record import Recording, ratio, target
from bench.storage_raw import raw_put_rate, raw_sqlite_put_rate
from tests import factories

NS = "bench"


def pod(name: str, app: str = "bench") -> dict[str, Any]:
    return factories.pod(name, {"app": app}, containers=[factories.container(command=["sleep", "3600"])])


async def create_rate(cp: ControlPlane, prefix: str, n: int, concurrency: int) -> float:
    def make(i: int) -> tuple[str, str, bytes]:
        return "POST", f"/api/v1/namespaces/{NS}/pods", json.dumps(pod(f"{prefix}-{i:05d}")).encode()

    return await httpload.run(cp.url, n, concurrency, make, 201, tls=cp.tls())


async def get_rate(cp: ControlPlane, prefix: str, existing: int, n: int, concurrency: int) -> float:
    def make(i: int) -> tuple[str, str, bytes]:
        return "GET", f"/api/v1/namespaces/{NS}/pods/{prefix}-{i % existing:05d}", b""

    return await httpload.run(cp.url, n, concurrency, make, 200, tls=cp.tls())


async def raw_rate(cp: ControlPlane, n: int, concurrency: int) -> float:
    """Plain puts on the same etcd, or group-committed inserts into a fresh SQLite file, per second."""
    if cp.etcd is not None:
        return await raw_put_rate(cp.etcd.url, n=n, concurrency=concurrency)
    return await asyncio.to_thread(raw_sqlite_put_rate, Path(tempfile.gettempdir()), n, concurrency)


async def list_times(
    client: httpx.AsyncClient, params: dict[str, str], runs: int
) -> tuple[list[float], int, list[float]]:
    """Seconds for each of `runs` full lists (following continue tokens): from each request sent to its whole body
    received, as kube-apiserver's request latency counts it; the client's decoding is timed apart (the third list,
    seconds per run with the standard library's json, as httpx decodes). Also the number of items."""
    times: list[float] = []
    decoding: list[float] = []
    count = 0
    for _ in range(runs):
        spent = decoded = 0.0
        count = 0
        token = None
        while True:
            q = dict(params, **({"continue": token} if token else {}))
            start = time.perf_counter()
            response = await client.get(f"/api/v1/namespaces/{NS}/pods", params=q)
            received = time.perf_counter()
            body = response.json()
            spent += received - start
            decoded += time.perf_counter() - received
            count += len(body["items"])
            token = body["metadata"].get("continue")
            if not token:
                break
        times.append(spent)
        decoding.append(decoded)
    return times, count, decoding


async def watch_latency(cp: ControlPlane, watchers: int, events: int, rate: float) -> tuple[list[float], Any]:
    """Each of `watchers` streams receives `events` creates; latency = arrival - the moment the create was sent.
    Also returns the storage watches measured while every watcher is open."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    ready = 0
    done = asyncio.Event()
    remaining = watchers * events
    limits = httpx.Limits(max_connections=watchers + 10)
    async with cp.http(timeout=httpx.Timeout(30, read=None), limits=limits) as wc:
        listed = (await wc.get(f"/api/v1/namespaces/{NS}/pods", params={"limit": "1"})).json()
        rv = listed["metadata"]["resourceVersion"]

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
        try:
            deadline = time.monotonic() + 60
            while ready < watchers or ((await cp.storage_watches())["client_watches"] or 0) < watchers:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {ready} of {watchers} watches opened")
                await asyncio.sleep(0.05)
            with_clients = await cp.storage_watches()
            for i in range(events):
                name = f"watch-{i:04d}"
                sent[name] = time.perf_counter()
                r = await wc.post(f"/api/v1/namespaces/{NS}/pods", json=pod(name, "watch"))
                assert r.status_code == 201, r.text
                await asyncio.sleep(1 / rate)
            await asyncio.wait_for(done.wait(), 60)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, with_clients


async def measure(cp: ControlPlane, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of one backend; per-round rates, lists of times, the storage-watch counts."""
    raw: list[float] = []
    creates: list[float] = []
    gets: list[float] = []
    async with cp.http(limits=httpx.Limits(max_connections=args.concurrency + 10)) as client:
        await client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        for r, order in alternate("raw", "api", args.rounds):
            for side in order:
                if side == "raw":
                    raw.append(await raw_rate(cp, args.creates, args.concurrency))
                else:
                    creates.append(await create_rate(cp, f"c{r}", args.creates, args.concurrency))
            gets.append(await get_rate(cp, f"c{r}", args.creates, args.creates * 2, args.concurrency))
        made = args.creates * args.rounds
        await create_rate(cp, "l", max(0, args.pods - made), args.concurrency)  # fill up for the lists
        lists = {
            "list_cache": await list_times(client, {"resourceVersion": "0"}, args.list_runs),
            "list_consistent": await list_times(client, {}, args.list_runs),
            "list_paged_storage": await list_times(client, {"limit": "500"}, args.list_runs),
        }
    idle = await cp.storage_watches()
    latencies, with_clients = await watch_latency(cp, args.watchers, args.watch_events, args.watch_rate)
    return {"raw": raw, "creates": creates, "gets": gets, "lists": lists, "watch": latencies,
            "storage_watches": {"idle": idle, "with_clients": with_clients}}  # fmt: skip


def record(backend: str, rec: Recording, m: dict[str, Any], args: argparse.Namespace) -> None:
    idle, busy = m["storage_watches"]["idle"], m["storage_watches"]["with_clients"]
    figures: dict[str, Any] = {
        "api_create_per_s": statistics.median(m["creates"]),
        "api_get_per_s": statistics.median(m["gets"]),
        "list_items": m["lists"]["list_cache"][1],
        **{f"{k}_ms": 1000 * statistics.median(v[0]) for k, v in m["lists"].items()},
        "list_cache_client_decode_ms": 1000 * statistics.median(m["lists"]["list_cache"][2]),
        "watchers": args.watchers,
        "watch_p50_ms": 1000 * percentile(m["watch"], 50),
        "watch_p99_ms": 1000 * percentile(m["watch"], 99),
        "client_watches": busy["client_watches"],
        "storage_watches_idle": idle["apiserver_storage_watches"],
        "storage_watches_with_clients": busy["apiserver_storage_watches"],
    }
    if "etcd_watchers" in busy:
        figures["etcd_watchers_idle"] = idle["etcd_watchers"]
        figures["etcd_watchers_with_clients"] = busy["etcd_watchers"]
    baseline = {"raw_put_per_s": statistics.median(m["raw"])}
    ratios = {"create_vs_raw_put": ratio("api_create_per_s", "raw_put_per_s", figures, baseline)}
    per_round = [c / r for c, r in zip(m["creates"], m["raw"], strict=True)]
    targets = [
        target("API creates >= 50% of raw puts", "create_vs_raw_put", ">=", 0.5, ratios["create_vs_raw_put"]["value"]),
        target(f"list {args.pods:,} pods from the cache <= 300 ms", "list_cache_ms", "<=", 300, figures["list_cache_ms"]),
        target(f"watch p99 <= 50 ms, {args.watchers} watchers", "watch_p99_ms", "<=", 50, figures["watch_p99_ms"]),
        target("one storage watch however many clients", "storage_watches_with_clients", "<=", 1,
               figures["storage_watches_with_clients"]),
    ]  # fmt: skip
    samples = {
        "raw_put_per_s (per round)": summarize(m["raw"], "1/s"),
        "api_create_per_s (per round)": summarize(m["creates"], "1/s"),
        "create_vs_raw_put (per round)": summarize(per_round, "ratio"),
        "api_get_per_s (per round)": summarize(m["gets"], "1/s"),
        **{f"{k}_ms (per run)": summarize([1000 * t for t in v[0]], "ms") for k, v in m["lists"].items()},
        "watch_delivery_ms (per event and watcher)": summarize([1000 * x for x in m["watch"]], "ms"),
    }
    notes = [
        "Rates and list times are medians over rounds (runs); raw and API rounds alternate, raw first in even "
        "rounds. The storage-watch counts are the apiserver's apiserver_storage_watches gauge"
        + (" and etcd's etcd_debugging_mvcc_watcher_total" if backend == "etcd" else "")
        + ", read before the watchers open and while all of them are open.",
        "List times run from each request sent to its whole body received (kube-apiserver's request latency); "
        "the client's decoding is apart: list_cache_client_decode_ms is the standard library's json.loads of the "
        "list body from the cache (what httpx's .json() does), which earlier results counted in the list time.",
        "raw_put_per_s: plain aetcd puts on the same etcd (started with --unsafe-no-fsync by tests/harness.py)"
        if backend == "etcd"
        else "raw_put_per_s: plain SQLite inserts (WAL, synchronous=FULL) committed in groups of the concurrency",
    ]
    rec.write(
        figures=figures, baseline=baseline, ratios=ratios, targets=targets, samples=samples, notes=notes
    )


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=("etcd", "sqlite", "both"), default="both")
    p.add_argument("--rounds", type=int, default=3, help="alternating raw / API create rounds")
    p.add_argument("--creates", type=int, default=3000, help="creates (and raw puts) per round")
    p.add_argument("--pods", type=int, default=10000, help="pods in the namespace for the lists")
    p.add_argument("--list-runs", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--watch-events", type=int, default=100)
    p.add_argument("--watch-rate", type=float, default=20.0, help="creates per second while watching")
    args = p.parse_args()
    from bench.report import show

    for backend in ["etcd", "sqlite"] if args.backend == "both" else [args.backend]:
        rec = Recording(f"apiserver-{backend}", {**vars(args), "backend": backend})
        with control_plane(backend) as cp:
            measured = await measure(cp, args)
        record(backend, rec, measured, args)
    show("apiserver")


if __name__ == "__main__":
    asyncio.run(main())
