"""The SQLite backend's log table: its schema, and the queries each storage operation runs. Every function here
runs on the backend's one SQLite thread (apiserver/storage/sqlite.py describes the design); none touches the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from apiserver.storage import decode_value
from apiserver.storage.interface import ErrorCode, StorageError, WatchEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_id ON log (key, id);
CREATE UNIQUE INDEX IF NOT EXISTS log_key_prev ON log (key, prev_revision);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
# The newest row of each key at revision :at (rows are superseded by a later row of the same key).
_VISIBLE = """
FROM log AS l
WHERE l.key >= :lo AND l.key < :hi AND l.id <= :at AND l.deleted = 0
  AND NOT EXISTS (SELECT 1 FROM log AS n WHERE n.key = l.key AND n.id > l.id AND n.id <= :at)
"""
MUST_EXIST = -1  # expectation for a write: any live revision
_REPLAY_BATCH = 500
_INSERT_ROWS = 100  # rows per INSERT statement (7 parameters each: under SQLite's old limit of 999)


class Change(NamedTuple):
    """One committed write, as handed to watchers (decoded per watcher, so nobody shares a dict)."""

    revision: int
    key: str
    type: str  # ADDED | MODIFIED | DELETED
    value: bytes  # for DELETED: the last state
    prev_value: bytes | None
    prev_revision: int

    def event(self) -> WatchEvent:
        prev = None if self.prev_value is None else decode_value(self.prev_value, self.prev_revision)
        return WatchEvent(self.type, self.key, decode_value(self.value, self.revision), self.revision, prev)


class Row(NamedTuple):
    id: int
    value: bytes


Result = tuple[int, Row | None]


class Write(NamedTuple):
    key: str
    expect: int
    value: bytes | None
    future: asyncio.Future[Result]


def prefix_range(prefix: str) -> tuple[str, str]:
    """[lo, hi) holding every key that starts with `prefix` (SQLite compares TEXT as UTF-8 bytes, which keeps
    code point order)."""
    if not prefix:
        return "", chr(0x10FFFF) * 2
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


# -- queries, run on the SQLite thread ----------------------------------------------------------------------------


def store_revision(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'log'").fetchone()
    return int(row[0]) if row else 0


def compacted_revision(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE name = 'compacted'").fetchone()
    return int(row[0]) if row else 0


def apply_batch(db: sqlite3.Connection, batch: Sequence[Write]) -> tuple[list[Result], list[Change]]:
    """Apply a batch of writes in one transaction: ([(revision or 0, previous/current live row)], changes).

    A handful of statements per batch, not two per write: the sqlite3 module gives up the GIL around every step,
    and under load each step waits for the event loop to hand it back. So the keys' newest rows are read in one
    query, the writes decided in Python (a key written twice in a batch sees its first write), and the rows
    inserted a hundred to a statement."""
    results: list[Result] = []
    changes: list[Change] = []
    rows: list[tuple[int, str, int, int, int, int, bytes]] = []
    with immediate(db):
        revision = store_revision(db)
        state = newest_rows(db, list({w.key for w in batch}))
        for write in batch:
            newest_id, deleted, create_revision, value = state.get(write.key, (0, 1, 0, b""))
            live = None if deleted else Row(newest_id, value)
            if write.expect == 0:
                ok = live is None
            elif write.expect == MUST_EXIST:
                ok = live is not None
            else:
                ok = live is not None and live.id == write.expect
            if not ok:
                results.append((0, live))
                continue
            revision += 1
            if write.value is None:
                assert live is not None
                change = Change(revision, write.key, "DELETED", live.value, live.value, live.id)
            elif live is None:
                change = Change(revision, write.key, "ADDED", write.value, None, 0)
                create_revision = revision
            else:
                change = Change(revision, write.key, "MODIFIED", write.value, live.value, live.id)
            gone = int(write.value is None)
            rows.append(
                (revision, write.key, int(live is None), gone, create_revision, newest_id, change.value)
            )
            state[write.key] = (revision, gone, create_revision, change.value)
            changes.append(change)
            results.append((revision, live))
        for i in range(0, len(rows), _INSERT_ROWS):
            chunk = rows[i : i + _INSERT_ROWS]
            db.execute(
                "INSERT INTO log (id, key, created, deleted, create_revision, prev_revision, value) VALUES "
                + ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
                [v for row in chunk for v in row],
            )
    return results, changes


def newest_rows(db: sqlite3.Connection, keys: list[str]) -> dict[str, tuple[int, int, int, bytes]]:
    """key -> (id, deleted, create_revision, value) of its newest row (a tombstone included), for the keys that
    have one."""
    out: dict[str, tuple[int, int, int, bytes]] = {}
    for i in range(0, len(keys), _INSERT_ROWS * 5):
        chunk = keys[i : i + _INSERT_ROWS * 5]
        for row_id, key, deleted, create_revision, value in db.execute(
            "SELECT id, key, deleted, create_revision, value FROM log WHERE id IN"
            f" (SELECT MAX(id) FROM log WHERE key IN ({','.join('?' * len(chunk))}) GROUP BY key)",
            chunk,
        ):
            out[key] = (row_id, deleted, create_revision, value)
    return out


def latest_live(db: sqlite3.Connection, key: str) -> Row | None:
    row = db.execute(
        "SELECT id, deleted, value FROM log WHERE key = ? ORDER BY id DESC LIMIT 1", (key,)
    ).fetchone()
    return None if row is None or row[1] else Row(row[0], row[2])


def check_revision(db: sqlite3.Connection, revision: int) -> None:
    compacted = compacted_revision(db)
    if revision < compacted:
        raise StorageError(
            ErrorCode.COMPACTED, message=f"revision {revision} has been compacted", revision=compacted
        )


def list_rows(
    db: sqlite3.Connection, lo: str, hi: str, revision: int, limit: int
) -> tuple[int, list[tuple[int, str, bytes]], int | None]:
    """(read revision, [(revision, key, value)], remaining count when more keys follow, else None)."""
    db.execute("BEGIN")
    try:
        current = store_revision(db)
        if revision:
            check_revision(db, revision)
            if revision > current:
                raise StorageError(ErrorCode.INVALID, message=f"revision {revision} is newer than the store")
        at = revision or current
        params = {"lo": lo, "hi": hi, "at": at}
        sql = f"SELECT l.id, l.key, l.value {_VISIBLE} ORDER BY l.key"
        if limit <= 0:
            return at, db.execute(sql, params).fetchall(), None
        rows = db.execute(f"{sql} LIMIT {int(limit) + 1}", params).fetchall()
        if len(rows) <= limit:
            return at, rows, None
        rows = rows[:limit]
        params["lo"] = rows[-1][1] + "\x00"
        (remaining,) = db.execute(f"SELECT COUNT(*) {_VISIBLE}", params).fetchone()
        return at, rows, int(remaining)
    finally:
        db.commit()


def replay(db: sqlite3.Connection, lo: str, hi: str, start: int, upto: int) -> list[Change]:
    check_revision(db, start)
    rows = db.execute(
        "SELECT l.id, l.key, l.created, l.deleted, l.value, l.prev_revision, p.value"
        " FROM log AS l LEFT JOIN log AS p ON p.id = l.prev_revision"
        " WHERE l.id >= ? AND l.id <= ? AND l.key >= ? AND l.key < ? ORDER BY l.id LIMIT ?",
        (start, upto, lo, hi, _REPLAY_BATCH),
    ).fetchall()
    changes = []
    for rev, key, created, deleted, value, prev_revision, prev_value in rows:
        if deleted:
            changes.append(Change(rev, key, "DELETED", value, value, prev_revision))
        elif created:
            changes.append(Change(rev, key, "ADDED", value, None, 0))
        else:
            changes.append(Change(rev, key, "MODIFIED", value, prev_value, prev_revision))
    return changes


def compact(db: sqlite3.Connection, revision: int) -> None:
    """Forget history before `revision`: reads and watches at `revision` or later are unaffected."""
    with immediate(db):
        if revision > store_revision(db):
            raise StorageError(ErrorCode.INVALID, message=f"revision {revision} is newer than the store")
        if revision <= compacted_revision(db):
            return
        db.execute(
            "DELETE FROM log WHERE id < :rev AND (deleted = 1 OR EXISTS"
            " (SELECT 1 FROM log AS n WHERE n.key = log.key AND n.id > log.id AND n.id <= :rev))",
            {"rev": revision},
        )
        db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('compacted', ?)", (revision,))
    # executescript steps the pragma to the end; execute() would free a single page.
    db.executescript("PRAGMA incremental_vacuum;")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction: committed when the block ends (also by `return`), rolled back when it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()
