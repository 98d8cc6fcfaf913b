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
import contextlib
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import httpload
from bench.common import ControlPlane, control_plane, percentile, rotation, summarize
from bench.cpu import CpuMeter
from bench.floor import FloorServers, GranianFloor
from bench.record import Recording, ratio, target
from bench.storage_raw import raw_put_rate, raw_sqlite_put_rate, raw_txn_rate
from tests import factories

NS = "bench"


def pod(name: str, app: str = "bench") -> dict[str, Any]:
    return factories.pod(name, {"app": app}, containers=[factories.container(command=["sleep", "3600"])])


async def create_rate(
    cp: ControlPlane, prefix: str, n: int, concurrency: int, url: str | None = None
) -> float:
    """Pod creates per second through the apiserver, or through the floor server at `url` (same client, bodies,
    TLS and concurrency)."""

    def make(i: int) -> tuple[str, str, bytes]:
        return "POST", f"/api/v1/namespaces/{NS}/pods", json.dumps(pod(f"{prefix}-{i:05d}")).encode()

    return await httpload.run(url or cp.url, n, concurrency, make, 201, tls=cp.tls())


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


def floor_servers(cp: ControlPlane, args: argparse.Namespace) -> dict[str, FloorServers]:
    """The floor servers (bench/floor.py) this run measures, by side name, not started: etcd backend only."""
    if cp.etcd is None or cp.apiserver is None or args.no_floor:
        return {}
    pki = cp.apiserver.pki
    tls = (pki.apiserver_cert, pki.apiserver_key, pki.ca_file)
    floors = {
        "floor": FloorServers(cp.etcd.url, *tls),
        "floor2": FloorServers(cp.etcd.url, *tls, processes=2),
    }
    if args.granian:
        if importlib.util.find_spec("granian") is None:
            raise SystemExit(
                "--granian: granian is not installed (not a dependency: .venv/bin/pip install granian)"
            )
        floors["granian"] = GranianFloor(cp.etcd.url, *tls)
    return floors


async def rounds(
    cp: ControlPlane, args: argparse.Namespace
) -> tuple[dict[str, list[float]], dict[str, list[dict[str, float]]], list[float]]:
    """Per-round rates of each side (raw puts, API creates, each floor server's creates), the sides' order
    reversed every other round; each side's CPU microseconds per write by process (bench/cpu.py) in each
    round; and the API's get rate after each round. The floor servers run only meanwhile."""
    floors = floor_servers(cp, args)
    extra = ["raw_txn"] if floors and cp.etcd is not None else []
    rates: dict[str, list[float]] = {side: [] for side in ["raw", "api", *extra, *floors]}
    cpu: dict[str, list[dict[str, float]]] = {side: [] for side in rates}
    gets: list[float] = []
    with contextlib.ExitStack() as stack:
        for server in floors.values():
            stack.enter_context(server)
        for side, server in floors.items():  # warm up: its connection to etcd, the first requests
            await create_rate(cp, f"w{side}", 2 * args.concurrency, args.concurrency, server.url)
        servers = {
            "raw": [],
            "raw_txn": [],
            "api": [cp.pid() or 0],
            **{k: v.pids() for k, v in floors.items()},
        }
        etcd = [cp.etcd.proc.pid] if cp.etcd is not None and cp.etcd.proc is not None else []
        for r, order in rotation(list(rates), args.rounds):
            for side in order:
                roles = {"client": [os.getpid()], "server": servers[side], "etcd": etcd}
                meter = CpuMeter(roles, alone=["client"])
                before = meter.read()
                if side == "raw":
                    rate = await raw_rate(cp, args.creates, args.concurrency)
                elif side == "raw_txn" and cp.etcd is not None:
                    rate = await raw_txn_rate(cp.etcd.url, args.creates, args.concurrency)
                elif side == "api":
                    rate = await create_rate(cp, f"c{r}", args.creates, args.concurrency)
                else:
                    url = floors[side].url
                    rate = await create_rate(cp, f"{side}{r}", args.creates, args.concurrency, url)
                rates[side].append(rate)
                cpu[side].append(meter.per_op(before, meter.read(), args.creates))
            gets.append(await get_rate(cp, f"c{r}", args.creates, args.creates * 2, args.concurrency))
    return rates, cpu, gets


async def measure(cp: ControlPlane, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of one backend; per-round rates, lists of times, the storage-watch counts."""
    async with cp.http(limits=httpx.Limits(max_connections=args.concurrency + 10)) as client:
        await client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        rates, cpu, gets = await rounds(cp, args)
        made = args.creates * args.rounds
        await create_rate(cp, "l", max(0, args.pods - made), args.concurrency)  # fill up for the lists
        lists = {
            "list_cache": await list_times(client, {"resourceVersion": "0"}, args.list_runs),
            "list_consistent": await list_times(client, {}, args.list_runs),
            "list_paged_storage": await list_times(client, {"limit": "500"}, args.list_runs),
        }
    idle = await cp.storage_watches()
    latencies, with_clients = await watch_latency(cp, args.watchers, args.watch_events, args.watch_rate)
    floors = {k: v for k, v in rates.items() if k not in ("raw", "api")}
    return {"raw": rates["raw"], "creates": rates["api"], "floors": floors, "cpu": cpu, "gets": gets, "lists": lists,
            "watch": latencies, "storage_watches": {"idle": idle, "with_clients": with_clients}}  # fmt: skip


# What each floor side (bench/floor.py) is called in the figures.
FLOOR_FIGURES = {"raw_txn": "raw_txn_per_s", "floor": "floor_create_per_s", "floor2": "floor_2proc_create_per_s",
                 "granian": "floor_granian_create_per_s"}  # fmt: skip


def floors_recorded(
    raw: list[float], api: list[float], floors: dict[str, list[float]]
) -> tuple[dict[str, float], dict[str, tuple[str, str]], dict[str, Any]]:
    """The floor servers' figures (median creates/s), their ratios (name -> (figure, baseline figure): each floor
    against raw puts, the API against each floor) and the per-round summaries of the rates and of those ratios
    (rates of the same round divided)."""
    figures: dict[str, float] = {}
    ratios: dict[str, tuple[str, str]] = {}
    samples: dict[str, Any] = {}
    for side, rates in floors.items():
        name = FLOOR_FIGURES[side]
        short = name.removesuffix("_create_per_s").removesuffix("_per_s")
        figures[name] = statistics.median(rates)
        ratios[f"{short}_vs_raw_put"] = (name, "raw_put_per_s")
        ratios[f"create_vs_{short}"] = ("api_create_per_s", name)
        samples[f"{name} (per round)"] = summarize(rates, "1/s")
        samples[f"{short}_vs_raw_put (per round)"] = summarize(_divided(rates, raw), "ratio")
        samples[f"create_vs_{short} (per round)"] = summarize(_divided(api, rates), "ratio")
    return figures, ratios, samples


def cpu_medians(cpu: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per side, the median over rounds of each process's CPU microseconds per write (and of the machine's busy
    fraction)."""
    return {
        side: {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        for side, rounds in cpu.items()
        if rounds
    }


def cpu_bound(cpu: dict[str, dict[str, float]], cores: int) -> dict[str, float]:
    """Per side, the writes per second all `cores` could do at that CPU per write (client + server + etcd): the
    rate the side cannot pass on this machine, however the work were scheduled."""
    return {
        side: cores * 1e6 / used for side, c in cpu.items() if (used := c["client"] + c["server"] + c["etcd"])
    }


def _divided(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


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
    floor_figures, floor_ratios, floor_samples = floors_recorded(m["raw"], m["creates"], m.get("floors", {}))
    figures.update(floor_figures)
    # Each floor is a figure (against raw puts) and a baseline (of the API's creates).
    baseline.update(floor_figures)
    figures["cpu_us_per_write"] = cpu_medians(m["cpu"])
    figures["cpu_bound_per_s"] = cpu_bound(figures["cpu_us_per_write"], os.cpu_count() or 1)
    ratios.update({k: ratio(*v, figures, baseline) for k, v in floor_ratios.items()})
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
        **floor_samples,
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
    if floor_figures:
        notes.append(
            "floor_*: bench/floor.py, the least a create costs on this stack: a bare ASGI app on uvicorn (uvloop, "
            "httptools, the apiserver's TLS context) that reads the body, decodes it, sends EtcdStorage.create's "
            "put-if-absent Txn and encodes the answer, on the same etcd, with the same client, bodies and "
            "concurrency as the API creates; floor_2proc: two such processes sharing the port (SO_REUSEPORT)"
            + ("; floor_granian: the same app on granian (one worker)" if "granian" in m["floors"] else "")
            + ". raw_txn_per_s: that Txn sent straight from the benchmark's process with aetcd, as the raw puts are. "
            "Raw, API and floor rounds rotate: the order is reversed every other round. cpu_us_per_write: CPU "
            "microseconds per write of the benchmark's own process (client), the server's processes and etcd "
            "(/proc, utime + stime), and the share of both cores busy meanwhile (machine_busy), medians over rounds; "
            "cpu_bound_per_s: the writes per second all cores could do at that CPU per write."
        )
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
    p.add_argument("--no-floor", action="store_true", help="measure no floor server (bench/floor.py)")
    p.add_argument("--granian", action="store_true", help="also measure the floor app served by granian")
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
