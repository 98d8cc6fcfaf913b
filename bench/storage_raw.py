"""Raw storage write rates: the ceiling any apiserver write benchmark is measured against, in the same run.

    .venv/bin/python bench/storage_raw.py [--n 5000] [--concurrency 64] [--etcd-servers URL]

For the lead's API benchmark, import the functions:
* `raw_put_rate(etcd_url)`: plain aetcd `put` calls (no transaction, no JSON), ops/s.
* `raw_sqlite_put_rate(data_dir)` (blocking): plain SQLite inserts with the embedded backend's durability settings
  (WAL, synchronous=FULL), committed in groups of `concurrency` as the backend's group commit does at best, ops/s.
* `storage_create_rate(storage)`: `Storage.create` through our backend (put-if-absent transaction + JSON), ops/s.

Run as a script it prints all four (etcd raw, EtcdStorage, SQLite raw, SqliteStorage) and writes JSON to
bench/results/. Starts its own etcd (tests/harness.py) unless --etcd-servers is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aetcd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apiserver.storage.etcd import EtcdStorage, parse_endpoints  # noqa: E402
from apiserver.storage.interface import Storage  # noqa: E402
from apiserver.storage.sqlite import SqliteStorage  # noqa: E402

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


async def measure(etcd_url: str, n: int, concurrency: int) -> dict[str, float]:
    results = {"etcd raw put": await raw_put_rate(etcd_url, n, concurrency)}
    etcd_storage = EtcdStorage(etcd_url, compaction_interval=0)
    try:
        results["EtcdStorage.create"] = await storage_create_rate(etcd_storage, n, concurrency)
    finally:
        await etcd_storage.close()
    results["sqlite raw insert"] = await asyncio.to_thread(raw_sqlite_put_rate, None, n, concurrency)
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-") as tmp:
        sqlite_storage = SqliteStorage(tmp, compaction_interval=0)
        try:
            results["SqliteStorage.create"] = await storage_create_rate(sqlite_storage, n, concurrency)
        finally:
            await sqlite_storage.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--etcd-servers", default=None, help="an etcd to use instead of starting one")
    args = parser.parse_args()

    etcd = None
    url = args.etcd_servers
    if url is None:
        from tests.harness import Etcd

        etcd = Etcd()
        etcd.start()
        url = etcd.url
    try:
        results = asyncio.run(measure(url, args.n, args.concurrency))
    finally:
        if etcd is not None:
            etcd.destroy()

    print(f"{'storage write path':<24} {'ops/s':>10}")
    for name, rate in results.items():
        print(f"{name:<24} {rate:>10.0f}")
    out = REPO / "bench" / "results" / f"storage_raw-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "storage_raw",
                "n": args.n,
                "concurrency": args.concurrency,
                "machine": platform.platform(),
                "ops_per_second": results,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
