"""Raw storage write rates: the ceiling any apiserver write benchmark is measured against, in the same run.

    .venv/bin/python bench/storage_raw.py [--n 5000] [--concurrency 64] [--rounds 3] [--etcd-servers URL]

For the lead's API benchmark, import the functions:
* `raw_put_rate(etcd_url)`: plain aetcd `put` calls (no transaction, no JSON), ops/s.
* `raw_sqlite_put_rate(data_dir)` (blocking): plain SQLite inserts with the embedded backend's durability settings
  (WAL, synchronous=FULL), committed in groups of `concurrency` as the backend's group commit does at best, ops/s.
* `storage_create_rate(storage)`: `Storage.create` through our backend (put-if-absent transaction + JSON), ops/s.

Run as a script it measures all four (etcd raw, EtcdStorage, SQLite raw, SqliteStorage) for --rounds rounds,
writes bench/results/storage_raw.json (bench/record.py) and prints the table. Starts its own etcd
(tests/harness.py) unless --etcd-servers is given.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aetcd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apiserver.storage.etcd import EtcdStorage, create_request, parse_endpoints  # noqa: E402
from apiserver.storage.interface import Storage  # noqa: E402
from apiserver.storage.sqlite import SqliteStorage  # noqa: E402
from bench.common import etcd_server, summarize  # noqa: E402
from bench.options import bench_parser  # noqa: E402

# About the size of a small pod as stored.
PAYLOAD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "x", "namespace": "bench", "labels": {"app": "bench"}, "uid": str(uuid.uuid4())},
    "spec": {"containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}]},
    "status": {"phase": "Pending"},
}


async def _run_concurrently(n: int, concurrency: int, one: Any) -> float:
    """ops/s of `await one(i)` for i in range(n), at most `concurrency` at a time."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return n / (time.perf_counter() - started)


async def raw_put_rate(etcd_url: str, n: int = 5000, concurrency: int = 64) -> float:
    """Plain aetcd puts per second against the first endpoint of `etcd_url`; the keys are deleted afterwards."""
    host, port = parse_endpoints(etcd_url)[0]
    prefix = f"/bench-raw-{uuid.uuid4().hex[:8]}/".encode()
    value = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    async with aetcd.Client(
        host, port, options={"grpc.max_receive_message_length": 256 * 1024 * 1024}
    ) as client:
        await client.put(prefix + b"warmup", value)
        rate = await _run_concurrently(n, concurrency, lambda i: client.put(prefix + b"%08d" % i, value))
        await client.delete_prefix(prefix)
    return rate


async def raw_txn_rate(etcd_url: str, n: int = 5000, concurrency: int = 64) -> float:
    """aetcd transactions per second of the shape EtcdStorage.create sends (put-if-absent: a compare on
    create_revision == 0, a put), on fresh keys, from this process; the keys are deleted afterwards."""
    host, port = parse_endpoints(etcd_url)[0]
    prefix = f"/bench-txn-{uuid.uuid4().hex[:8]}/".encode()
    value = json.dumps(PAYLOAD, separators=(",", ":")).encode()

    async with aetcd.Client(
        host, port, options={"grpc.max_receive_message_length": 256 * 1024 * 1024}
    ) as client:
        await client.kvstub.Txn(create_request(prefix + b"warmup", value))
        rate = await _run_concurrently(
            n, concurrency, lambda i: client.kvstub.Txn(create_request(prefix + b"%08d" % i, value))
        )
        await client.delete_prefix(prefix)
    return rate


def _sqlite_inserts(path: Path, n: int, group: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute(
            "CREATE TABLE kv (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, value BLOB NOT NULL)"
        )
        value = json.dumps(PAYLOAD, separators=(",", ":")).encode()
        started = time.perf_counter()
        for first in range(0, n, group):
            db.execute("BEGIN IMMEDIATE")
            for i in range(first, min(first + group, n)):
                db.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (f"/bench/{i:08d}", value))
            db.execute("COMMIT")
        return n / (time.perf_counter() - started)
    finally:
        db.close()


def raw_sqlite_put_rate(data_dir: str | Path | None = None, n: int = 5000, concurrency: int = 64) -> float:
    """Plain SQLite inserts per second with the embedded backend's durability (WAL, synchronous=FULL), on the
    calling thread (blocking: use asyncio.to_thread from async code). SQLite has one writer, so `concurrency`
    writers in flight can at best share a commit (the backend's group commit): inserts are committed in groups of
    `concurrency`; `concurrency=1` gives one fsync per insert. Works in a temporary directory inside `data_dir`
    (default: the system's), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-", dir=data_dir) as tmp:
        return _sqlite_inserts(Path(tmp) / "raw.db", n, max(1, concurrency))


async def storage_create_rate(storage: Storage, n: int = 5000, concurrency: int = 64) -> float:
    """`Storage.create` calls per second under a fresh prefix (left in place: the caller owns the store)."""
    prefix = f"/registry/bench-{uuid.uuid4().hex[:8]}/"
    await storage.create(prefix + "warmup", PAYLOAD)
    return await _run_concurrently(n, concurrency, lambda i: storage.create(f"{prefix}{i:08d}", PAYLOAD))


async def measure(etcd_url: str, n: int, concurrency: int, rounds: int) -> dict[str, list[float]]:
    """Each write path's rate per round; the paths run in one order in even rounds and the reverse in odd ones."""

    async def etcd_storage() -> float:
        storage = EtcdStorage(etcd_url, compaction_interval=0)
        try:
            return await storage_create_rate(storage, n, concurrency)
        finally:
            await storage.close()

    async def sqlite_storage() -> float:
        with tempfile.TemporaryDirectory(prefix="kubelite-bench-") as tmp:
            storage = SqliteStorage(tmp, compaction_interval=0)
            try:
                return await storage_create_rate(storage, n, concurrency)
            finally:
                await storage.close()

    paths = {
        "etcd raw put": lambda: raw_put_rate(etcd_url, n, concurrency),
        "EtcdStorage.create": etcd_storage,
        "sqlite raw insert": lambda: asyncio.to_thread(raw_sqlite_put_rate, None, n, concurrency),
        "SqliteStorage.create": sqlite_storage,
    }
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for r in range(rounds):
        for name in list(paths) if r % 2 == 0 else list(reversed(paths)):
            rates[name].append(await paths[name]())
    return rates


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--etcd-servers", default=None, help="an etcd to use instead of starting one")
    args = parser.parse_args()
    from bench.record import Recording, ratio
    from bench.report import show

    rec = Recording("storage_raw", vars(args))
    with etcd_server(args.etcd_servers) as url:
        rates = asyncio.run(measure(url, args.n, args.concurrency, args.rounds))
    median = {name: statistics.median(v) for name, v in rates.items()}
    figures = {k: median[k] for k in ("EtcdStorage.create", "SqliteStorage.create")}
    baseline = {k: median[k] for k in ("etcd raw put", "sqlite raw insert")}
    rec.write(
        figures=figures,
        baseline=baseline,
        ratios={
            "etcd": ratio("EtcdStorage.create", "etcd raw put", figures, baseline),
            "sqlite": ratio("SqliteStorage.create", "sqlite raw insert", figures, baseline),
        },
        samples={f"{name} (per round)": summarize(v, "1/s") for name, v in rates.items()},
        notes=[
            "Medians over rounds, writes per second. The etcd is tests/harness.py's (--unsafe-no-fsync) unless "
            "--etcd-servers is given; raw SQLite inserts are committed in groups of the concurrency."
        ],
    )
    show("storage_raw")


if __name__ == "__main__":
    main()
