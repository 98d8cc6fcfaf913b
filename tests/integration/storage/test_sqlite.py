"""SQLite-only behaviour: durability across kill -9, reopening, bounded history, slow watchers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from apiserver.storage import open_storage
from apiserver.storage.etcd import EtcdStorage
from apiserver.storage.interface import ErrorCode, StorageError
from apiserver.storage.sqlite import SqliteStorage
from tests.harness import REPO
from tests.integration.storage.helpers import make_obj, set_data

pytestmark = pytest.mark.timeout(60)

WRITER = """
import asyncio, sys
from apiserver.storage.sqlite import SqliteStorage

async def writer(store, task):
    i = 0
    while True:
        kv = await store.create(f"/registry/crash/t{task}-{i:06d}", {"metadata": {"name": f"k{i}"}, "i": i})
        print(task, kv.key, kv.mod_revision, flush=True)
        i += 1

async def main():
    store = SqliteStorage(sys.argv[1], compaction_interval=0)
    await asyncio.gather(*(writer(store, task) for task in range(8)))

asyncio.run(main())
"""


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    """Eight concurrent writers (so group commits hold several writes) print each key once it is acknowledged."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while len(lines) < 500 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        lines.extend(proc.stdout)  # printed before the kill: acknowledged too
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    # A line cut short by the kill was never fully printed, so it does not count as acknowledged.
    complete = [line.split() for line in lines if line.endswith("\n")]
    acknowledged = [(int(task), key, int(revision)) for task, key, revision in complete]
    assert len(acknowledged) >= 500

    async def check() -> None:
        store = SqliteStorage(tmp_path, compaction_interval=0)
        try:
            stored = {kv.key: kv.mod_revision for kv in (await store.list("/registry/crash/")).items}
            assert [stored.get(key) for _, key, _ in acknowledged] == [rev for _, _, rev in acknowledged]
            assert len(set(stored.values())) == len(stored)
            for task in range(8):
                revisions = [rev for t, _, rev in acknowledged if t == task]
                assert revisions == sorted(revisions)
            after = await store.create("/registry/crash/after", make_obj("after"))
            assert after.mod_revision > max(stored.values())
        finally:
            await store.close()

    asyncio.run(check())


async def test_state_and_revisions_persist_across_reopen(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path, compaction_interval=0)
    await store.create("/registry/x/a", make_obj("a"))
    gone = await store.create("/registry/x/b", make_obj("b"))
    deleted = await store.delete(gone.key)
    await store.create("/registry/x/c", make_obj("c"))
    await store.compact(deleted.mod_revision + 1)
    await store.close()

    store = SqliteStorage(tmp_path, compaction_interval=0)
    try:
        assert [kv.key for kv in (await store.list("/registry/x/")).items] == [
            "/registry/x/a",
            "/registry/x/c",
        ]
        assert await store.current_revision() == deleted.mod_revision + 1
        again = await store.create("/registry/x/b", make_obj("b"))
        assert again.mod_revision == deleted.mod_revision + 2
        with pytest.raises(StorageError) as err:
            await store.list("/registry/x/", revision=deleted.mod_revision)
        assert err.value.code is ErrorCode.COMPACTED
    finally:
        await store.close()


async def test_one_group_commit_writes_a_key_several_times(tmp_path: Path) -> None:
    """Writes started together form one batch (one transaction); each sees the writes of the batch before it."""
    store = SqliteStorage(tmp_path, compaction_interval=0)
    try:
        base = await store.current_revision()
        key = "/registry/batch/k"
        stream = store.watch("/registry/batch/", base + 1)
        created, dup, deleted, again, other = await asyncio.gather(
            store.create(key, make_obj("k", v=1)),
            store.create(key, make_obj("k", v=2)),
            store.delete(key),
            store.create(key, make_obj("k", v=3)),
            store.create("/registry/batch/other", make_obj("other")),
            return_exceptions=True,
        )
        assert isinstance(dup, StorageError) and dup.code is ErrorCode.EXISTS
        assert [created.mod_revision, deleted.mod_revision, again.mod_revision, other.mod_revision] == [
            base + 1,
            base + 2,
            base + 3,
            base + 4,
        ]
        assert deleted.obj["v"] == 1
        events = [await anext(stream) for _ in range(4)]
        assert [(e.type, e.revision) for e in events] == [
            ("ADDED", base + 1),
            ("DELETED", base + 2),
            ("ADDED", base + 3),
            ("ADDED", base + 4),
        ]
        assert events[1].prev_obj is not None and events[1].prev_obj["v"] == 1
        assert (await store.get(key)).obj["v"] == 3
        await store.guaranteed_update(key, set_data(v="4"))
        with contextlib.closing(sqlite3.connect(tmp_path / "state.db")) as db:
            rows = db.execute(
                "SELECT id, created, deleted, create_revision, prev_revision FROM log WHERE key = ? ORDER BY id",
                (key,),
            ).fetchall()
        assert rows == [
            (base + 1, 1, 0, base + 1, 0),
            (base + 2, 0, 1, base + 1, base + 1),
            (base + 3, 1, 0, base + 3, base + 2),
            (base + 5, 0, 0, base + 3, base + 3),
        ]
        await stream.aclose()
    finally:
        await store.close()


async def test_reads_do_not_wait_for_a_commit_and_see_every_acknowledged_write(tmp_path: Path) -> None:
    """Reads run on their own connection: a get answers while the writer thread is busy (here: held for 2 s), and
    a get that starts after a write was acknowledged sees that write."""
    store = SqliteStorage(tmp_path, compaction_interval=0)
    try:
        await store.create("/registry/r/a", make_obj("a"))
        busy = asyncio.create_task(store._run(lambda db: time.sleep(2)))
        await asyncio.sleep(0.1)  # the writer thread is now in the sleep
        started = time.monotonic()
        assert (await store.get("/registry/r/a")).obj["metadata"]["name"] == "a"
        assert time.monotonic() - started < 1.0
        assert not busy.done()
        await busy

        async def write_then_read(i: int) -> None:
            written = await store.create(f"/registry/r/k{i}", make_obj(f"k{i}"))
            assert (await store.get(written.key)).mod_revision == written.mod_revision
            updated = await store.guaranteed_update(written.key, set_data(i=str(i)))
            assert (await store.get(written.key)).mod_revision == updated.mod_revision
            deleted = await store.delete(written.key)
            with pytest.raises(StorageError):
                await store.get(written.key)
            assert await store.current_revision() >= deleted.mod_revision

        await asyncio.gather(*(write_then_read(i) for i in range(50)))
    finally:
        await store.close()


def count_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path / "state.db")) as db:
        return int(db.execute("SELECT COUNT(*) FROM log").fetchone()[0])


async def test_compaction_bounds_history(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path, compaction_interval=0)
    try:
        blob = "x" * 4000
        for name in ["a", "b"]:
            await store.create(f"/registry/y/{name}", make_obj(name, data={"n": 0}))
        for i in range(300):
            await store.guaranteed_update("/registry/y/a", set_data(n=i + 1, blob=blob))
        await store.create("/registry/y/c", make_obj("c"))
        await store.delete("/registry/y/c")
        size_before = (tmp_path / "state.db").stat().st_size + (tmp_path / "state.db-wal").stat().st_size
        assert count_rows(tmp_path) == 304

        await store.compact(await store.current_revision())

        # One row per live key is left, plus the tombstone at the compaction revision itself (a watch from that
        # revision still replays it); the file gives back the space.
        assert count_rows(tmp_path) == 3
        size_after = (tmp_path / "state.db").stat().st_size + (tmp_path / "state.db-wal").stat().st_size
        assert size_after < size_before / 4
        assert (await store.get("/registry/y/a")).obj["data"]["n"] == 300
    finally:
        await store.close()


async def test_periodic_compaction(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path, compaction_interval=0.1, history_window=5)
    try:
        await store.create("/registry/z/a", make_obj("a", data={"n": 0}))
        for i in range(30):
            await store.guaranteed_update("/registry/z/a", set_data(n=i))
        deadline = time.monotonic() + 5
        while count_rows(tmp_path) > 6:
            assert time.monotonic() < deadline, "history was never compacted"
            await asyncio.sleep(0.05)
    finally:
        await store.close()


async def test_a_slow_watcher_catches_up_from_the_log(tmp_path: Path, watch: Any) -> None:
    store = SqliteStorage(tmp_path, compaction_interval=0, watch_queue_limit=5)
    try:
        stream = store.watch("/registry/slow/", await store.current_revision() + 1)
        first_write = asyncio.create_task(store.create("/registry/slow/k000", make_obj("k000")))
        first = await anext(stream)  # the watcher is registered and live; now stop consuming for a while
        written = [(await first_write).mod_revision]
        for i in range(1, 60):
            written.append((await store.create(f"/registry/slow/k{i:03d}", make_obj(f"k{i}"))).mod_revision)
        rest = [await anext(stream) for _ in range(59)]
        assert [first.revision] + [e.revision for e in rest] == written
        assert [e.key for e in rest] == [f"/registry/slow/k{i:03d}" for i in range(1, 60)]
        await stream.aclose()
    finally:
        await store.close()


async def test_close_ends_watches(tmp_path: Path, watch: Any) -> None:
    store = SqliteStorage(tmp_path, compaction_interval=0)
    events = watch(store, "/registry/w/", await store.current_revision() + 1)
    await store.create("/registry/w/a", make_obj("a"))
    await events.wait_for(1)
    await store.close()
    with pytest.raises(Exception) as err:
        await events.wait_for(2, timeout=5)
    assert "closed" in str(err.value)


def test_open_storage_chooses_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_storage(None, data_dir=str(tmp_path)), SqliteStorage)
    assert isinstance(
        open_storage("http://127.0.0.1:2379", backend="sqlite", data_dir=str(tmp_path)), SqliteStorage
    )
    assert isinstance(open_storage("http://127.0.0.1:2379", request_timeout=1.0), EtcdStorage)
    with pytest.raises(ValueError):
        open_storage(None, backend="mysql")
