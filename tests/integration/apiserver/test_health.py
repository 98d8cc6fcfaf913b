"""/livez, /readyz, /healthz as kube-apiserver answers them, and storage health that notices failing writes.

The full-disk test mounts a small tmpfs as the SQLite data directory and fills it: reads keep working, every write
fails, and /readyz must say so (naming etcd-readiness) with a log line, then recover when space returns.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import ApiServer, running_apiserver, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    data = tmp_path_factory.mktemp("health-data")
    with running_apiserver(None, ["--storage-backend", "sqlite", "--data-dir", str(data)]) as server:
        yield server


def test_readyz_and_livez_name_their_checks(sqlite_api: ApiServer) -> None:
    with sqlite_api.client() as api:
        assert api.get("/readyz").text == "ok"
        verbose = api.get("/readyz?verbose")
        assert verbose.status_code == 200
        assert verbose.headers["content-type"].startswith("text/plain")
        lines = verbose.text.splitlines()
        assert lines[-1] == "readyz check passed"
        for check in (
            "ping",
            "etcd",
            "etcd-readiness",
            "informer-sync",
            "poststarthook/bootstrap-controller",
        ):
            assert f"[+]{check} ok" in lines, verbose.text
        live = api.get("/livez?verbose").text.splitlines()
        assert "[+]ping ok" in live and "[+]etcd ok" in live and live[-1] == "livez check passed"
        assert not any("etcd-readiness" in line for line in live)  # a full disk is not a reason to restart
        assert api.get("/healthz").text == "ok"


def test_exclude_and_single_checks(sqlite_api: ApiServer) -> None:
    with sqlite_api.client() as api:
        r = api.get("/readyz", params=[("verbose", ""), ("exclude", "etcd"), ("exclude", "nosuch")])
        assert "[+]etcd excluded: ok" in r.text.splitlines()
        assert 'warn: some health checks cannot be excluded: no matches for "nosuch"' in r.text
        assert api.get("/readyz/etcd").text == "ok"
        assert api.get("/livez/ping").text == "ok"
        assert api.get("/readyz/nosuch").status_code == 404
    # The aggregate endpoints are public; the single checks need credentials (system:monitoring), as upstream.
    assert httpx.get(f"{sqlite_api.url}/livez", verify=sqlite_api.ca_file).text == "ok"
    assert httpx.get(f"{sqlite_api.url}/readyz/etcd", verify=sqlite_api.ca_file).status_code == 401


@contextlib.contextmanager
def small_tmpfs(size: str) -> Iterator[Path]:
    mount_point = Path(tempfile.mkdtemp(prefix="kubelite-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def _log_lines(server: ApiServer) -> list[dict]:
    out = []
    for line in server.logs().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def test_a_full_disk_turns_readyz_red_and_back(tmp_path: Path) -> None:
    with small_tmpfs("16m") as mount_point:
        data = mount_point / "data"
        with running_apiserver(None, ["--storage-backend", "sqlite", "--data-dir", str(data)]) as server:
            with server.client() as api:
                filler = mount_point / "filler"
                subprocess.run(
                    ["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False
                )
                start = time.monotonic()
                # Nothing writes meanwhile: the write probe alone must notice, within 10 s.
                failing = wait_until(
                    lambda: (r := api.get("/readyz")).status_code == 503 and r, 10, what="/readyz red"
                )
                assert "[-]etcd-readiness failed: reason withheld" in failing.text.splitlines()
                assert "[+]etcd ok" in failing.text.splitlines()  # reads still work
                assert failing.text.endswith("readyz check failed\n")
                assert time.monotonic() - start < 10
                detail = api.get("/readyz/etcd-readiness")
                assert detail.status_code == 503 and "disk is full" in detail.text, detail.text
                assert api.get("/livez").status_code == 200  # alive: restarting would not help

                r = api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "full"}})
                assert r.status_code == 503 and "disk is full" in r.json()["message"], r.text
                assert api.get("/api/v1/namespaces/default").status_code == 200
                lines = wait_until(
                    lambda: (
                        (ls := _log_lines(server))
                        and any(x["msg"] == "server error" and x["code"] == 503 for x in ls)
                        and ls
                    ),
                    5,
                    what="the 503 logged",
                )
                storage = [x for x in lines if x["msg"] == "storage error"]
                assert storage and "disk is full" in storage[0]["cause"], storage
                # (Start-up's own failures, before the bootstrap finished, may be logged before it.)
                checks = [
                    x for x in lines if x["msg"] == "readyz check failed" and x["check"] == "etcd-readiness"
                ]
                assert checks and "disk is full" in checks[0]["cause"], lines
                served = [x for x in lines if x["msg"] == "server error" and x["code"] == 503]
                assert "disk is full" in served[0]["cause"] and served[0]["user"]

                os.unlink(filler)
                wait_until(lambda: api.get("/readyz").status_code == 200, 10, what="/readyz green again")
                r = api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "after"}})
                assert r.status_code == 201, r.text
                assert any(x["msg"] == "readyz check recovered" for x in _log_lines(server))


def test_access_log_flag(tmp_path: Path) -> None:
    args = ["--storage-backend", "sqlite", "--data-dir", str(tmp_path), "--access-log"]
    with running_apiserver(None, args) as server:
        with server.client(headers={"User-Agent": "access-test/1"}) as api:
            assert api.get("/api/v1/namespaces/default").status_code == 200
        line = wait_until(
            lambda: next(
                (
                    x
                    for x in _log_lines(server)
                    if x["msg"] == "request" and x.get("user_agent") == "access-test/1"
                ),
                None,
            ),
            5,
            what="an access log line",
        )
        assert line["method"] == "GET" and line["uri"] == "/api/v1/namespaces/default" and line["code"] == 200
        assert line["user"] and line["source"] == "127.0.0.1" and line["latency_ms"] >= 0


def test_no_access_log_by_default(sqlite_api: ApiServer) -> None:
    with sqlite_api.client() as api:
        api.get("/api/v1/namespaces/default")
    assert not [x for x in _log_lines(sqlite_api) if x["msg"] == "request"]


def test_kept_alive_connection_outlives_a_client_idle_timeout(sqlite_api: ApiServer) -> None:
    """The ReadError under load: the server closed idle connections after 5 s, the very moment httpx (keep-alive
    expiry 5 s) could still pick such a connection for a new request. The server now keeps them 90 s, as
    kube-apiserver's IdleTimeout. One connection, idle 6 s, then a second request on it."""
    conn = http.client.HTTPSConnection(
        "127.0.0.1", sqlite_api.port, context=sqlite_api.ssl_context(), timeout=10
    )
    try:
        conn.request("GET", "/api/v1/namespaces/default")
        first = conn.getresponse()
        first.read()
        assert first.status == 200 and not first.will_close
        sock = conn.sock
        time.sleep(6)  # the idle time under test, past the old 5 s server timeout
        conn.request("GET", "/api/v1/namespaces/default")
        second = conn.getresponse()  # RemoteDisconnected when the server closed the idle connection
        second.read()
        assert second.status == 200 and conn.sock is sock
    finally:
        conn.close()
