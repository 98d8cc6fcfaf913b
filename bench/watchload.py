"""The write SLO under watch load (#26): 50 writers (create, get, update, delete of ConfigMaps) with 0 and with 100
watchers of that namespace, on each backend.

    .venv/bin/python bench/watchload.py [--backend sqlite|etcd|both] [--writers 50] [--watchers 100] [--seconds 60]

Reports per backend and watcher count: write ops/s (create+update+delete), mutating p50/p99, errors, and whether
every watcher saw every event in order (each watcher counts the events of the writers' objects and checks that
resourceVersions only grow). The watchers run in a process of their own, so that reading 100 streams does not
take the writers' CPU in the same event loop. Writes bench/results/watchload.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import ControlPlane, control_plane, percentile  # noqa: E402
from bench.record import Recording, ratio, target  # noqa: E402


class _Watcher:
    """One watch of the namespace's ConfigMaps, resumed from its last revision whenever the server ends it."""

    def __init__(self, ns: str, rv: str) -> None:
        self.ns = ns
        self.resume = rv
        self.seen = self.last = self.disorder = self.errors = self.streams = 0

    async def run(self, client: httpx.AsyncClient, ready: Any) -> None:
        while True:
            # As an informer watches: with a timeout and bookmarks.
            params = {
                "watch": "1",
                "resourceVersion": self.resume,
                "timeoutSeconds": "600",
                "allowWatchBookmarks": "true",
            }
            try:
                async with client.stream(
                    "GET", f"/api/v1/namespaces/{self.ns}/configmaps", params=params
                ) as r:
                    if self.streams == 0:
                        ready.put(1)
                    self.streams += 1
                    buf = b""
                    async for chunk in r.aiter_raw():
                        buf += chunk
                        *lines, buf = buf.split(b"\n")
                        for line in lines:
                            self.take(orjson.loads(line))
            except httpx.HTTPError:
                self.errors += 1

    def take(self, ev: dict[str, Any]) -> None:
        if ev["type"] == "ERROR":
            self.errors += 1
            return
        revision = int(ev["object"]["metadata"]["resourceVersion"])
        if ev["type"] == "BOOKMARK":
            self.resume = str(max(revision, self.last))
            return
        self.disorder += revision <= self.last
        self.last, self.resume = revision, str(revision)
        self.seen += 1

    def result(self) -> dict[str, int]:
        return {
            "seen": self.seen,
            "disorder": self.disorder,
            "errors": self.errors,
            "resumed": self.streams - 1,
        }


async def _watch_all(
    url: str, kubeconfig: str, ns: str, rv: str, n: int, ready: Any, stop: Any, out: Any
) -> None:
    cp = ControlPlane(url, kubeconfig)
    watchers = [_Watcher(ns, rv) for _ in range(n)]
    async with cp.http(timeout=httpx.Timeout(30, read=None), limits=httpx.Limits(max_connections=n + 5)) as c:
        tasks = [asyncio.create_task(w.run(c, ready)) for w in watchers]
        await asyncio.to_thread(stop.wait)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    out.put([w.result() for w in watchers])


def _watcher_process(*args: Any) -> None:
    asyncio.run(_watch_all(*args))


async def _writers(cp: ControlPlane, ns: str, writers: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    writes = 0
    deadline = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient, w: int) -> None:
        nonlocal writes
        i = 0
        base = f"/api/v1/namespaces/{ns}/configmaps"
        while time.monotonic() < deadline:
            name = f"w{w}-{i}"
            i += 1
            steps: list[tuple[str, str, dict[str, Any] | None]] = [
                ("POST", base, {"metadata": {"name": name}, "data": {"v": "1"}}),
                ("GET", f"{base}/{name}", None),
                ("PUT", f"{base}/{name}", None),
                ("DELETE", f"{base}/{name}", None),
            ]
            current: dict[str, Any] = {}
            for method, path, body in steps:
                if method == "PUT":
                    body = {**current, "data": {"v": "2"}}
                start = time.perf_counter()
                try:
                    r = await client.request(method, path, json=body)
                except httpx.HTTPError as exc:
                    errors.append(f"{method} {type(exc).__name__}")
                    break
                took = time.perf_counter() - start
                if r.status_code >= 300:
                    errors.append(f"{method} {r.status_code}")
                    break
                if method == "GET":
                    current = r.json()
                else:
                    latencies.append(took)
                    writes += 1

    async with cp.http(limits=httpx.Limits(max_connections=writers + 5)) as c:
        started = time.monotonic()
        await asyncio.gather(*(one(c, w) for w in range(writers)))
        elapsed = time.monotonic() - started
    return {
        "write_ops_per_s": round(writes / elapsed, 1),
        "writes": writes,
        "mutating_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "mutating_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "errors": errors[:20],
        "error_count": len(errors),
    }


def run(backend: str, watchers: int, args: argparse.Namespace) -> dict[str, Any]:
    with control_plane(backend) as cp:
        ns = "load-" + uuid.uuid4().hex[:6]
        with cp.http_sync() as c:
            assert c.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
            rv = c.get(f"/api/v1/namespaces/{ns}/configmaps").json()["metadata"]["resourceVersion"]
        ctx = multiprocessing.get_context("spawn")
        ready, stop, out = ctx.Queue(), ctx.Event(), ctx.Queue()
        proc = None
        if watchers:
            proc = ctx.Process(
                target=_watcher_process, args=(cp.url, cp.kubeconfig, ns, rv, watchers, ready, stop, out)
            )
            proc.start()
            for _ in range(watchers):
                ready.get(timeout=60)
        result = asyncio.run(_writers(cp, ns, args.writers, args.seconds))
        result.update(backend=backend, watchers=watchers)
        if proc is not None:
            time.sleep(2)  # the last events reach the watchers
            stop.set()
            watched = out.get(timeout=60)
            proc.join(30)
            expected = result["writes"]  # every create, update and delete is one event
            result["watchers_saw_all"] = sum(1 for w in watched if w["seen"] >= expected)
            result["watch_disorder"] = sum(w["disorder"] for w in watched)
            result["watch_errors"] = sum(w["errors"] for w in watched)
            result["watch_resumes"] = sum(max(w["resumed"], 0) for w in watched)
            result["events_min_seen"] = min(w["seen"] for w in watched)
            result["events_expected"] = expected
        return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=("etcd", "sqlite", "both"), default="both")
    p.add_argument("--writers", type=int, default=50)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--seconds", type=float, default=60.0)
    args = p.parse_args()
    backends = ["sqlite", "etcd"] if args.backend == "both" else [args.backend]
    rec = Recording("watchload", vars(args))
    rows = []
    for backend in backends:
        for watchers in (0, args.watchers):
            row = run(backend, watchers, args)
            rows.append(row)
            print(orjson.dumps(row).decode(), flush=True)
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    targets = []
    for backend in backends:
        base, loaded = (r for r in rows if r["backend"] == backend)
        baseline[f"{backend}_writes_per_s_no_watchers"] = base["write_ops_per_s"]
        baseline[f"{backend}_mutating_p99_ms_no_watchers"] = base["mutating_p99_ms"]
        figures[f"{backend}_writes_per_s"] = loaded["write_ops_per_s"]
        figures[f"{backend}_mutating_p99_ms"] = loaded["mutating_p99_ms"]
        figures[f"{backend}_errors"] = base["error_count"] + loaded["error_count"]
        figures[f"{backend}_watchers_saw_all"] = loaded.get("watchers_saw_all")
        figures[f"{backend}_watch_disorder"] = loaded.get("watch_disorder")
        key = f"{backend}_with_vs_without_watchers"
        ratios[key] = ratio(
            f"{backend}_writes_per_s", f"{backend}_writes_per_s_no_watchers", figures, baseline
        )
        targets += [
            target(f"{backend}: write rate with watchers >= 75% of without", key, ">=", 0.75, ratios[key]["value"]),
            target(f"{backend}: mutating p99 <= 1 s", f"{backend}_mutating_p99_ms", "<=", 1000,
                   loaded["mutating_p99_ms"]),
        ]  # fmt: skip
        print(f"{backend}: {args.watchers} watchers keep {ratios[key]['value']:.0%} of the write rate; p99 "
              f"{base['mutating_p99_ms']} -> {loaded['mutating_p99_ms']} ms")  # fmt: skip
    notes = [
        "writers and watchers run on the same machine as the apiserver; the watchers in a process of their own"
    ]
    rec.write(figures=figures, baseline=baseline, ratios=ratios, targets=targets, notes=notes)


if __name__ == "__main__":
    main()
