"""The write SLO under watch load (#26): 50 writers (create, get, update, delete of ConfigMaps) with 0 and with 100
watchers of that namespace, on each backend.

    .venv/bin/python bench/watchload.py [--backend sqlite|etcd|both] [--writers 50] [--watchers 100] [--seconds 60]
                                           [--rounds 2]

Reports per backend and watcher count: write ops/s (create+update+delete), mutating p50/p99, errors, and whether
every watcher saw every event in order (each watcher counts the events of the writers' objects and checks that
resourceVersions only grow). The watchers run in a process of their own, so that reading 100 streams does not
take the writers' CPU in the same event loop, and read their streams as cheaply as a Go informer would: uvloop's
TLS, the chunked body split into lines in one asyncio.Protocol per watch, every line parsed (orjson) and checked.
Writes bench/results/watchload.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import multiprocessing
import ssl
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
import uvloop

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import ControlPlane, alternate, control_plane, percentile, summarize  # noqa: E402
from bench.record import Recording, ratio, target  # noqa: E402


class _Stream(asyncio.Protocol):
    """One watch response read straight off uvloop's TLS transport: the status line, the headers, then the
    chunked body split into NDJSON lines, each handed to `on_line`. No HTTP client library: 100 watchers through
    httpx/anyio's Python TLS cost more CPU than the apiserver spends serving them, on the cores it shares."""

    def __init__(self, on_line: Any) -> None:
        self.on_line = on_line
        self.chunks = 0  # HTTP chunks: the apiserver's writes to this watch
        self.buf = bytearray()
        self.body = bytearray()
        self.status = 0
        self.started = asyncio.get_running_loop().create_future()  # the headers arrived: the status
        self.done = asyncio.get_running_loop().create_future()
        self.chunk_left = -1  # bytes of the current chunk still to read (-1: a size line is next)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.status:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).split(b"\r\n")
            del self.buf[: end + 4]
            self.status = int(head[0].split()[1])
            self.started.set_result(self.status)
            if b"transfer-encoding: chunked" not in b"\r\n".join(head[1:]).lower():
                self._finish()  # a Status answer, not a stream
                return
        self._chunks()

    def _chunks(self) -> None:
        buf = self.buf
        while True:
            if self.chunk_left < 0:  # a size line is next
                eol = buf.find(b"\r\n")
                if eol < 0:
                    return
                self.chunk_left = int(bytes(buf[:eol]).split(b";")[0], 16)
                del buf[: eol + 2]
                if self.chunk_left == 0:
                    self._finish()
                    return
            if len(buf) < self.chunk_left + 2:  # the chunk and its CRLF, whole
                return
            self.body += buf[: self.chunk_left]
            del buf[: self.chunk_left + 2]
            self.chunks += 1
            self.chunk_left = -1
            self._lines()

    def _lines(self) -> None:
        end = self.body.rfind(b"\n")
        if end < 0:
            return
        lines = bytes(self.body[:end]).split(b"\n")
        del self.body[: end + 1]
        for line in lines:
            self.on_line(line)

    def _finish(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.started.done():
            self.started.set_exception(exc or ConnectionError("closed before the headers"))
        if not self.done.done():
            self.done.set_result(None)


def _same(stream: _Stream) -> _Stream:
    return stream


class _Watcher:
    """One watch of the namespace's ConfigMaps, resumed from its last revision whenever the server ends it."""

    def __init__(self, ns: str, rv: str) -> None:
        self.ns = ns
        self.resume = rv
        self.seen = self.last = self.disorder = self.errors = self.streams = self.chunks = 0

    async def run(self, host: str, port: int, tls: ssl.SSLContext, ready: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # As an informer watches: with a timeout and bookmarks.
            query = urlencode(
                {
                    "watch": "1",
                    "resourceVersion": self.resume,
                    "timeoutSeconds": "600",
                    "allowWatchBookmarks": "true",
                }
            )
            request = (
                f"GET /api/v1/namespaces/{self.ns}/configmaps?{query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Accept: application/json\r\nUser-Agent: kubelite-bench-watcher\r\n\r\n"
            )
            stream = _Stream(self.line)
            try:
                transport, _ = await loop.create_connection(
                    functools.partial(_same, stream), host, port, ssl=tls, server_hostname=host
                )
                transport.write(request.encode())
                if await stream.started != 200:
                    raise ConnectionError(f"watch answered {stream.status}")
                if self.streams == 0:
                    ready.put(1)
                self.streams += 1
                await stream.done
            except (OSError, ConnectionError):
                self.errors += 1
                await asyncio.sleep(0.1)
            finally:
                self.chunks += stream.chunks
                if stream.transport is not None:
                    stream.transport.close()

    def line(self, line: bytes) -> None:
        self.take(orjson.loads(line))

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
            "chunks": self.chunks,
        }


async def _watch_all(
    url: str, kubeconfig: str, ns: str, rv: str, n: int, ready: Any, stop: Any, out: Any
) -> None:
    tls = ControlPlane(url, kubeconfig).tls()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    watchers = [_Watcher(ns, rv) for _ in range(n)]
    tasks = [asyncio.create_task(w.run(host, port, tls, ready)) for w in watchers]
    await asyncio.to_thread(stop.wait)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.put([w.result() for w in watchers])


def _watcher_process(*args: Any) -> None:
    uvloop.run(_watch_all(*args))


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
        "elapsed_s": elapsed,
        "latencies": latencies,
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
            # How many events the apiserver wrote to a watch at once, on average (its writes: HTTP chunks).
            chunks = sum(w["chunks"] for w in watched)
            result["events_per_write"] = (
                round(sum(w["seen"] for w in watched) / chunks, 2) if chunks else None
            )
        return result


def _pooled(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One backend and watcher count over every round: the rate from the summed writes and time, latencies pooled."""
    latencies = [x for r in rows for x in r["latencies"]]
    pooled: dict[str, Any] = {
        "write_ops_per_s": round(sum(r["writes"] for r in rows) / sum(r["elapsed_s"] for r in rows), 1),
        "rounds_write_ops_per_s": [r["write_ops_per_s"] for r in rows],
        "mutating_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "rounds_mutating_p99_ms": [r["mutating_p99_ms"] for r in rows],
        "error_count": sum(r["error_count"] for r in rows),
        "latencies_ms": [x * 1000 for x in latencies],
    }
    if "watchers_saw_all" in rows[0]:
        pooled["watchers_saw_all"] = min(r["watchers_saw_all"] for r in rows)
        for key in ("watch_disorder", "watch_errors", "watch_resumes"):
            pooled[key] = sum(r[key] for r in rows)
        pooled["events_per_write"] = [r["events_per_write"] for r in rows]
    return pooled


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=("etcd", "sqlite", "both"), default="both")
    p.add_argument("--writers", type=int, default=50)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument(
        "--rounds", type=int, default=2, help="rounds per backend, the order of 0 and N swapped each"
    )
    args = p.parse_args()
    backends = ["sqlite", "etcd"] if args.backend == "both" else [args.backend]
    rec = Recording("watchload", vars(args))
    rows = []
    for backend in backends:
        for _round, order in alternate("0", str(args.watchers), args.rounds):
            for watchers in map(int, order):
                row = run(backend, watchers, args)
                rows.append(row)
                print(orjson.dumps({k: v for k, v in row.items() if k != "latencies"}).decode(), flush=True)
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    targets = []
    for backend in backends:
        base = _pooled([r for r in rows if r["backend"] == backend and r["watchers"] == 0])
        loaded = _pooled([r for r in rows if r["backend"] == backend and r["watchers"] == args.watchers])
        samples[f"{backend}_mutating_ms_no_watchers"] = summarize(base.pop("latencies_ms"), "ms")
        samples[f"{backend}_mutating_ms"] = summarize(loaded.pop("latencies_ms"), "ms")
        baseline[f"{backend}_writes_per_s_no_watchers"] = base["write_ops_per_s"]
        baseline[f"{backend}_rounds_writes_per_s_no_watchers"] = base["rounds_write_ops_per_s"]
        baseline[f"{backend}_mutating_p99_ms_no_watchers"] = base["mutating_p99_ms"]
        figures[f"{backend}_writes_per_s"] = loaded["write_ops_per_s"]
        figures[f"{backend}_rounds_writes_per_s"] = loaded["rounds_write_ops_per_s"]
        figures[f"{backend}_mutating_p99_ms"] = loaded["mutating_p99_ms"]
        figures[f"{backend}_rounds_mutating_p99_ms"] = loaded["rounds_mutating_p99_ms"]
        figures[f"{backend}_errors"] = base["error_count"] + loaded["error_count"]
        figures[f"{backend}_watchers_saw_all"] = loaded["watchers_saw_all"]
        figures[f"{backend}_watch_disorder"] = loaded["watch_disorder"]
        figures[f"{backend}_watch_errors"] = loaded["watch_errors"]
        figures[f"{backend}_watch_resumes"] = loaded["watch_resumes"]
        figures[f"{backend}_events_per_write"] = loaded["events_per_write"]
        key = f"{backend}_with_vs_without_watchers"
        ratios[key] = ratio(
            f"{backend}_writes_per_s", f"{backend}_writes_per_s_no_watchers", figures, baseline
        )
        targets += [
            target(f"{backend}: write rate with watchers >= 75% of without", key, ">=", 0.75, ratios[key]["value"]),
            target(f"{backend}: mutating p99 <= 1 s", f"{backend}_mutating_p99_ms", "<=", 1000,
                   loaded["mutating_p99_ms"]),
            target(f"{backend}: 0 errors", f"{backend}_errors", "<=", 0, figures[f"{backend}_errors"]),
            target(f"{backend}: every watcher saw every event", f"{backend}_watchers_saw_all", ">=",
                   args.watchers, loaded["watchers_saw_all"]),
            target(f"{backend}: every watcher saw them in order", f"{backend}_watch_disorder", "<=", 0,
                   loaded["watch_disorder"]),
        ]  # fmt: skip
        print(f"{backend}: {args.watchers} watchers keep {ratios[key]['value']:.0%} of the write rate; p99 "
              f"{base['mutating_p99_ms']} -> {loaded['mutating_p99_ms']} ms")  # fmt: skip
    notes = [
        "writers and watchers run on the same machine as the apiserver (2 cores shared with other work: see load);"
        " the watchers in a process of their own, reading their streams with uvloop's TLS and one asyncio.Protocol"
        " each, every event parsed and checked",
        "write rate: creates+updates+deletes (every one an event) per second over all rounds; p99 over every"
        " mutating request of all rounds; the order of the 0- and N-watcher runs swaps every round",
    ]
    rec.write(
        figures=figures, baseline=baseline, ratios=ratios, targets=targets, samples=samples, notes=notes
    )


if __name__ == "__main__":
    main()
