"""The embedded backend: an append-only revision log in one SQLite file, in the manner of k3s's kine.

Every write appends one row to `log`; its `id` (AUTOINCREMENT, never reused) is the store revision. A key's state
at revision R is its newest row with id <= R, absent when that row is a tombstone (`deleted`); a tombstone keeps
the last state so a DELETED event can carry it. Put-if-absent and compare-and-swap read the key's newest row and
append inside one `BEGIN IMMEDIATE` transaction, and a UNIQUE index on (key, prev_revision) makes two appends on
the same predecessor impossible even for a second process writing the same file.

Durability: WAL journal with `synchronous=FULL`, so every acknowledged write has been fsynced to the WAL and
survives kill -9 and power loss alike (`synchronous="NORMAL"` trades the power-loss guarantee for speed; it still
survives a killed process).

Threading: every write runs on one dedicated thread (a one-worker executor) with its own connection, so the event
loop never blocks and no connection is shared. After a commit that thread hands the change to the loop with
`call_soon_threadsafe`, in commit order, which is the order watchers see. Reads (get, list, the read of a
compare-and-swap, the replay of a watch) run on a second thread with a read-only connection: under WAL a reader
sees every committed transaction and never waits for a commit's fsync, which it would behind the writes on one
thread (a GET under write load waited for a whole group commit). A commit becomes visible to readers only once it
is durable, and a write is acknowledged only after that, so a read that starts after an acknowledgement sees it.

Watch: in-process. A watcher replays rows from the log, then follows live changes through its own queue; a
watcher whose queue grows past `watch_queue_limit` drops the queue and catches up from the log again, so a slow
consumer costs disk reads, not memory. Only one process may serve watches from a file (changes made by another
process are not noticed).

Compaction deletes rows superseded at or before the compaction revision and tombstones older than it, records the
revision (older reads and watches get StorageError(COMPACTED)), then returns free pages to the file system
(`auto_vacuum=INCREMENTAL`) and truncates the WAL, so the file stays bounded by live data plus the history window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncGenerator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from apiserver import metrics
from apiserver.storage import (
    cas,
    decode_continue,
    decode_value,
    encode_continue,
    encode_value,
    skip_corrupt,
    stamped_copy,
)
from apiserver.storage import sqlite_log as sql
from apiserver.storage.backend import Backend
from apiserver.storage.interface import (
    ErrorCode,
    KeyValue,
    ListResult,
    Obj,
    StorageError,
    WatchEvent,
)

log = logging.getLogger("apiserver.storage.sqlite")

T = TypeVar("T")

_MAX_BATCH = 1000
_CLOSED = "closed"
_OVERFLOW = "overflow"


class _Watcher:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[sql.Change | str] = asyncio.Queue()
        self.stopped = False


class SqliteStorage(Backend):
    """Storage in `data_dir/state.db`. Cheap to construct: opens the file on first use, and from then on belongs
    to that event loop."""

    name = "sqlite"

    def __init__(
        self,
        data_dir: str | Path,
        *,
        history_window: int = 10000,
        compaction_interval: float = 300.0,
        synchronous: str = "FULL",
        watch_queue_limit: int = 10000,
        request_timeout: float = 10.0,
    ) -> None:
        if synchronous.upper() not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        self._path = Path(data_dir) / "state.db"
        self._history_window = history_window
        self._compaction_interval = compaction_interval
        self._synchronous = synchronous.upper()
        self._watch_queue_limit = watch_queue_limit
        self._timeout = request_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kubelite-sqlite")
        self._db: sqlite3.Connection | None = None  # used only on the executor thread
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kubelite-sqlite-read")
        self._rdb: sqlite3.Connection | None = None  # read-only, used only on the reader thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Future[None] | None = None
        self._published = 0  # loop side: the newest revision handed to watchers
        self._pending: list[sql.Write] = []  # writes waiting for the next group commit
        self._flusher: asyncio.Task[None] | None = None
        self._watchers: set[_Watcher] = set()
        self._compactor: asyncio.Task[None] | None = None
        self._closed = False

    # -- plumbing ----------------------------------------------------------------------------------------------

    async def _ready(self) -> None:
        """Open the file on first use (once, whoever asks first); refuse after close()."""
        if self._closed:
            raise StorageError(ErrorCode.UNAVAILABLE, message="storage is closed")
        if self._opening is None:
            self._loop = asyncio.get_running_loop()
            self._opening = asyncio.ensure_future(self._open())
        await asyncio.shield(self._opening)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` on the SQLite (writer) thread."""
        await self._ready()
        return await self._submit(fn, *args)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` on the reader thread, with the read-only connection."""
        await self._ready()
        return await self._submit(fn, *args, read=True)

    async def _submit(self, fn: Callable[..., T], *args: Any, read: bool = False) -> T:
        assert self._loop is not None
        future = self._loop.run_in_executor(
            self._reader if read else self._executor, self._call, fn, args, read
        )
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races the result.
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(future)
        except TimeoutError as exc:
            raise StorageError(
                ErrorCode.UNAVAILABLE, message=f"sqlite did not answer in {self._timeout:g}s"
            ) from exc

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], read: bool) -> T:
        db = self._rdb if read else self._db
        assert db is not None
        try:
            return fn(db, *args)
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.rollback()
            raise StorageError(ErrorCode.UNAVAILABLE, message=f"sqlite: {exc}") from exc

    async def _open(self) -> None:
        assert self._loop is not None
        try:
            self._published = await self._loop.run_in_executor(self._executor, self._open_db)
            await self._loop.run_in_executor(self._reader, self._open_reader)
        except (sqlite3.Error, OSError) as exc:
            self._opening = None  # the next call tries again
            raise StorageError(ErrorCode.UNAVAILABLE, message=f"cannot open {self._path}: {exc}") from exc
        if self._compaction_interval > 0:
            self._compactor = self._loop.create_task(self._compact_periodically())

    def _open_db(self) -> int:
        # Secrets are in here: the directory is 0700 and the file 0600 (SQLite gives its -wal and -shm files the
        # database file's mode).
        self._path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self._path.parent, 0o700)
        os.close(os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self._path, 0o600)
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file, before any table
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {self._synchronous}")
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_size_limit = 67108864")
        db.executescript(sql.SCHEMA)
        self._db = db
        return sql.store_revision(db)

    def _open_reader(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA query_only = 1")
        self._rdb = db

    def _publish_soon(self, changes: list[sql.Change]) -> None:
        """Called on the SQLite thread after a commit; the loop runs these in commit order."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._publish, changes)

    def _publish(self, changes: list[sql.Change]) -> None:
        for change in changes:
            self._published = max(self._published, change.revision)
            for watcher in self._watchers:
                if watcher.stopped or not change.key.startswith(watcher.prefix):
                    continue
                if watcher.queue.qsize() >= self._watch_queue_limit:
                    # Too slow: stop queueing, the watcher catches up from the log instead.
                    watcher.stopped = True
                    watcher.queue.put_nowait(_OVERFLOW)
                else:
                    watcher.queue.put_nowait(change)

    # -- reads -------------------------------------------------------------------------------------------------

    async def get(self, key: str) -> KeyValue:
        row = await self._read(sql.latest_live, key)
        if row is None:
            raise StorageError(ErrorCode.NOT_FOUND, key)
        return KeyValue(key, decode_value(row.value, row.id), row.id)

    async def list(
        self, prefix: str, *, limit: int = 0, continue_token: str | None = None, revision: int = 0
    ) -> ListResult:
        lo, hi = sql.prefix_range(prefix)
        if continue_token:
            revision, relative = decode_continue(continue_token)
            lo = prefix + relative
        at, rows, remaining = await self._read(sql.list_rows, lo, hi, revision, limit)
        items = []
        for rev, key, value in rows:
            try:
                items.append(KeyValue(key, decode_value(value, rev, key), rev))
            except StorageError as exc:
                skip_corrupt(key, exc)
        if remaining is None or not rows:
            return ListResult(items, at)
        token = encode_continue(at, rows[-1][1][len(prefix) :] + "\x00")
        return ListResult(items, at, token, remaining)

    async def current_revision(self) -> int:
        return await self._read(sql.store_revision)

    async def healthy(self) -> bool:
        try:
            await self._run(lambda db: db.execute("SELECT 1").fetchone())
        except StorageError:
            return False
        return True

    # -- writes ------------------------------------------------------------------------------------------------

    async def _append(self, key: str, expect: int, value: bytes | None) -> sql.Result:
        """Append a write of `key` if its newest live revision matches `expect` (0: absent, sql.MUST_EXIST: any,
        else that revision); `value` None is a delete. Returns (new revision, previous row) on success and
        (0, current row or None) when the expectation failed.

        Group commit: writes that arrive while a batch is being committed form the next batch, one transaction
        and one fsync for all of them; each is acknowledged only after that commit."""
        await self._ready()
        assert self._loop is not None
        future: asyncio.Future[sql.Result] = self._loop.create_future()
        self._pending.append(sql.Write(key, expect, value, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = self._loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
            try:
                results = await self._submit(self._commit_batch, batch)
            except Exception as exc:  # every write of the batch failed together; tell each writer
                error = (
                    exc
                    if isinstance(exc, StorageError)
                    else StorageError(ErrorCode.UNAVAILABLE, message=str(exc))
                )
                for write in batch:
                    if not write.future.done():
                        write.future.set_exception(error)
                continue
            for write, result in zip(batch, results, strict=True):
                if not write.future.done():
                    write.future.set_result(result)

    def _commit_batch(self, db: sqlite3.Connection, batch: Sequence[sql.Write]) -> Sequence[sql.Result]:
        results, changes = sql.apply_batch(db, batch)
        if changes:
            self._publish_soon(changes)
        return results

    async def create(self, key: str, obj: Obj) -> KeyValue:
        revision, _ = await self._append(key, 0, encode_value(obj))
        if not revision:
            raise StorageError(ErrorCode.EXISTS, key)
        return KeyValue(key, stamped_copy(obj, revision), revision)

    async def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue:
        expect = sql.MUST_EXIST if expected_revision is None else expected_revision
        revision, row = await self._append(key, expect, None)
        if not revision:
            if row is None:
                raise StorageError(ErrorCode.NOT_FOUND, key)
            raise StorageError(
                ErrorCode.CONFLICT, key, f"{key}: revision is {row.id}, expected {expected_revision}"
            )
        assert row is not None
        return KeyValue(key, decode_value(row.value, revision), revision)

    async def read(self, key: str) -> cas.Stored | None:
        """The compare-and-swap primitives of apiserver.storage.cas: the newest live row, and one append."""
        row = await self._read(sql.latest_live, key)
        return None if row is None else cas.Stored(row.value, row.id)

    async def swap(self, key: str, expected: int, value: bytes) -> tuple[int, cas.Stored | None]:
        revision, row = await self._append(key, expected, value)
        if revision:
            return revision, None
        return 0, None if row is None else cas.Stored(row.value, row.id)

    async def compact(self, revision: int) -> None:
        await self._run(sql.compact, revision)

    # -- watch -------------------------------------------------------------------------------------------------

    async def watch(self, prefix: str, from_revision: int = 0) -> AsyncGenerator[WatchEvent, None]:
        """Changes under `prefix` with revision >= `from_revision` (0: from now on): replayed from the log, then
        live. StorageError(COMPACTED) when the log no longer reaches back that far."""
        await self._ready()  # so that `_published` is the store's revision
        next_revision = from_revision or self._published + 1
        lo, hi = sql.prefix_range(prefix)
        while True:
            watcher = _Watcher(prefix)
            self._watchers.add(watcher)
            metrics.storage_watches.labels("sqlite").inc()
            try:
                # Everything up to `upto` is committed and comes from the log; later changes reach the queue.
                upto = self._published
                while next_revision <= upto:
                    batch = await self._read(sql.replay, lo, hi, next_revision, upto)
                    if not batch:
                        break
                    for change in batch:
                        next_revision = change.revision + 1
                        try:
                            decoded = change.event()
                        except StorageError as exc:
                            skip_corrupt(change.key, exc)
                            continue
                        yield decoded
                next_revision = max(next_revision, upto + 1)
                while True:
                    item = await watcher.queue.get()
                    if item == _OVERFLOW:
                        break
                    if isinstance(item, str):
                        raise StorageError(ErrorCode.UNAVAILABLE, prefix, "storage is closed")
                    if item.revision >= next_revision:
                        next_revision = item.revision + 1
                        try:
                            decoded = item.event()
                        except StorageError as exc:
                            skip_corrupt(item.key, exc)
                            continue
                        yield decoded
            finally:
                self._watchers.discard(watcher)
                metrics.storage_watches.labels("sqlite").dec()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        for watcher in self._watchers:
            watcher.queue.put_nowait(_CLOSED)
        if self._flusher is not None:
            # Writes already accepted are committed (or fail) before the file closes; their callers hear which.
            with contextlib.suppress(Exception):
                await self._flusher
        if self._db is not None and self._loop is not None:
            await self._loop.run_in_executor(self._executor, self._db.close)
        if self._rdb is not None and self._loop is not None:
            await self._loop.run_in_executor(self._reader, self._rdb.close)
        self._executor.shutdown(wait=False)
        self._reader.shutdown(wait=False)
