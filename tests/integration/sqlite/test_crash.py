"""kill -9 of an apiserver on the SQLite backend in the middle of a stream of concurrent creates.

After a restart on the same data dir: every create that was answered 201 is there with the resourceVersion it was
answered with, revisions keep growing from where they were, and a watcher that resumes from the last
resourceVersion it saw gets every event after it, none missed, none twice.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.sqlite.helpers import SqliteApiServer
from tests.polling import wait_until

pytestmark = pytest.mark.slow

WRITERS = 8
KILL_AFTER = 150  # acknowledged creates before the kill


class Writers:
    """`WRITERS` threads creating ConfigMaps as fast as the apiserver answers, until the first failed request."""

    def __init__(self, server: SqliteApiServer, ns: str) -> None:
        self.server = server
        self.ns = ns
        self.acked: dict[str, int] = {}  # name -> resourceVersion of its 201
        self.per_writer: list[list[int]] = [[] for _ in range(WRITERS)]
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(WRITERS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(30)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def _run(self, i: int) -> None:
        with self.server.client(timeout=10) as c:
            n = 0
            while True:
                name = f"w{i}-{n:05d}"
                try:
                    r = c.post(
                        f"/api/v1/namespaces/{self.ns}/configmaps",
                        json={"metadata": {"name": name}, "data": {"n": str(n)}},
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code != 201:
                    return
                rv = int(r.json()["metadata"]["resourceVersion"])
                with self.lock:
                    self.acked[name] = rv
                    self.per_writer[i].append(rv)
                n += 1


class Watcher:
    """One watch stream in a thread, from a resourceVersion; frames are kept until the stream breaks."""

    def __init__(self, server: SqliteApiServer, url: str, rv: str) -> None:
        self.frames: list[dict] = []
        self.status = 0
        self.connected = threading.Event()
        self.done = threading.Event()
        self.client = server.client(timeout=httpx.Timeout(10, read=60))
        threading.Thread(target=self._run, args=(url, rv), daemon=True).start()
        assert self.connected.wait(10), "watch did not connect"

    def _run(self, url: str, rv: str) -> None:
        try:
            with self.client.stream("GET", url, params={"watch": "true", "resourceVersion": rv}) as r:
                self.status = r.status_code
                self.connected.set()
                for line in r.iter_lines():
                    if line:
                        self.frames.append(json.loads(line))
        except (httpx.HTTPError, json.JSONDecodeError):
            pass  # the server was killed mid-stream (or closed by close())
        finally:
            self.connected.set()
            self.done.set()

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SqliteApiServer]:
    s = SqliteApiServer(tmp_path / "data")
    s.start()
    yield s
    s.stop()
    s.log_path.unlink(missing_ok=True)


def test_kill_9_loses_no_acknowledged_create_and_watchers_resume(server: SqliteApiServer) -> None:
    ns = "crash"
    with server.client(timeout=10) as api:
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
        start_rv = api.get(f"/api/v1/namespaces/{ns}/configmaps").json()["metadata"]["resourceVersion"]
    url = f"{server.url}/api/v1/namespaces/{ns}/configmaps"
    before = Watcher(server, url, start_rv)
    writers = Writers(server, ns)
    writers.start()
    try:
        wait_until(lambda: writers.count() >= KILL_AFTER, 60, 0.01, what=f"{KILL_AFTER} acknowledged creates")
        assert server.proc is not None
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        writers.join()
        assert before.done.wait(10), "the watch did not end with the server"
    finally:
        before.close()
    assert before.status == 200 and before.frames, "the watch saw nothing before the kill"
    acked = dict(writers.acked)
    max_acked = max(acked.values())

    server.start()  # same port, same data dir
    with server.client(timeout=10) as api:
        listed = api.get(f"/api/v1/namespaces/{ns}/configmaps").json()
        present = {o["metadata"]["name"]: int(o["metadata"]["resourceVersion"]) for o in listed["items"]}
        # Every 201 survived, with the revision it was acknowledged with.
        missing = sorted(set(acked) - set(present))
        assert not missing, f"{len(missing)} acknowledged creates lost: {missing[:10]}"
        assert all(present[name] == rv for name, rv in acked.items())
        # Revisions are unique and monotonic: per writer, across writers, and after the restart.
        assert len(set(acked.values())) == len(acked)
        for rvs in writers.per_writer:
            assert rvs == sorted(rvs)
        assert int(listed["metadata"]["resourceVersion"]) >= max_acked
        after = api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "after-restart"}})
        assert after.status_code == 201, after.text
        after_rv = int(after.json()["metadata"]["resourceVersion"])
        assert after_rv > max(present.values())

    # The watcher resumes from the last resourceVersion it saw and gets the rest: the creates it missed while
    # the server died (acknowledged or not: everything stored), then the one after the restart. So does a
    # watcher that had fallen behind: one that had seen only the first half of those events.
    expected_names = set(present) | {"after-restart"}
    for seen in (before.frames, before.frames[: len(before.frames) // 2]):
        _resume_and_check(server, url, seen, expected_names)


def _resume_and_check(server: SqliteApiServer, url: str, seen: list[dict], expected_names: set[str]) -> None:
    resumed = Watcher(server, url, str(seen[-1]["object"]["metadata"]["resourceVersion"]))
    try:
        wait_until(
            lambda: _names(seen + resumed.frames) >= expected_names or resumed.done.is_set(),
            20,
            0.05,
            what="the resumed watch to catch up",
        )
        time.sleep(0.3)  # a duplicate or stray event would arrive right behind the last one
    finally:
        resumed.close()
    assert resumed.status == 200
    errors = [f for f in resumed.frames if f["type"] == "ERROR"]
    assert not errors, f"the resumed watch failed: {errors[0]['object']}"
    frames = seen + resumed.frames
    assert all(f["type"] == "ADDED" for f in frames)
    names = [f["object"]["metadata"]["name"] for f in frames]
    rvs = [int(f["object"]["metadata"]["resourceVersion"]) for f in frames]
    assert len(names) == len(set(names)), "an event came twice"
    assert rvs == sorted(rvs), "events out of revision order"
    assert set(names) == expected_names, f"missed: {sorted(expected_names - set(names))[:10]}"


def _names(frames: list[dict]) -> set[str]:
    return {f["object"].get("metadata", {}).get("name") for f in frames if f["type"] != "ERROR"}
