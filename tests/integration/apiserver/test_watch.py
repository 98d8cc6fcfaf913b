"""Watch: synthetic ADDED, resume from a resourceVersion, 410 when too old, selectors, timeouts, bookmarks."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import factories
from tests.harness import ApiServer, admin_tls, running_apiserver

pytestmark = pytest.mark.etcd

ETCD_WATCHERS = "etcd_debugging_mvcc_watcher_total"  # etcd's gauge of the watches it serves


class Watch:
    """Collect watch frames in a thread until `count` arrive or the stream ends."""

    def __init__(self, url: str, params: dict[str, str], headers: dict[str, str] | None = None) -> None:
        self.frames: list[dict] = []
        self.status = 0
        self.done = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=30), verify=admin_tls())
        self._thread = threading.Thread(target=self._run, args=(url, params, headers or {}), daemon=True)
        self._started = threading.Event()
        self._thread.start()
        self._started.wait(5)

    def _run(self, url: str, params: dict[str, str], headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, params={**params, "watch": "true"}, headers=headers) as r:
                self.status = r.status_code
                self._started.set()
                for line in r.iter_lines():
                    if line:
                        self.frames.append(json.loads(line))
        except httpx.HTTPError:
            pass  # closed by close()
        finally:
            self._started.set()
            self.done.set()

    def wait_for(self, n: int, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.frames) < n and time.monotonic() < deadline and not self.done.is_set():
            time.sleep(0.02)
        return self.frames

    def close(self) -> None:
        self._client.close()


def test_watch_from_zero_then_live(api: httpx.Client, ns: str, apiserver: ApiServer) -> None:
    api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("one"))
    w = Watch(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", {"resourceVersion": "0"})
    try:
        assert [f["type"] for f in w.wait_for(1)] == ["ADDED"]
        api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("two"))
        api.patch(
            f"/api/v1/namespaces/{ns}/pods/two",
            json={"metadata": {"labels": {"a": "b"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        api.delete(f"/api/v1/namespaces/{ns}/pods/two")
        frames = w.wait_for(4)
        assert [(f["type"], f["object"]["metadata"]["name"]) for f in frames] == [
            ("ADDED", "one"),
            ("ADDED", "two"),
            ("MODIFIED", "two"),
            ("DELETED", "two"),
        ]
        deleted = frames[3]["object"]
        assert deleted["metadata"]["labels"] == {"a": "b"}  # the last state
        assert int(deleted["metadata"]["resourceVersion"]) > int(
            frames[2]["object"]["metadata"]["resourceVersion"]
        )
    finally:
        w.close()


def test_resume_from_resource_version_replays_in_order(
    api: httpx.Client, ns: str, apiserver: ApiServer
) -> None:
    rv = api.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]
    for i in range(5):
        api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod(f"r{i}"))
    w = Watch(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", {"resourceVersion": rv})
    try:
        frames = w.wait_for(5)
        assert [f["object"]["metadata"]["name"] for f in frames] == [f"r{i}" for i in range(5)]
        rvs = [int(f["object"]["metadata"]["resourceVersion"]) for f in frames]
        assert rvs == sorted(rvs) and rvs[0] > int(rv)
    finally:
        w.close()


def check_too_old_is_410(url: str) -> None:
    """Against an apiserver with --watch-cache-size 5: a revision older than the watch cache's history gets an
    ERROR frame with a 410 Expired Status, then the end of the stream."""
    with httpx.Client(base_url=url, timeout=10, verify=admin_tls()) as c:
        first = c.post(
            "/api/v1/namespaces/default/configmaps", json={"metadata": {"generateName": "old-"}}
        ).json()
        for _ in range(10):
            c.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"generateName": "old-"}})
        # A consistent list returns once the watch cache has seen every write above.
        c.get("/api/v1/namespaces/default/configmaps")
    w = Watch(
        f"{url}/api/v1/namespaces/default/configmaps",
        {"resourceVersion": first["metadata"]["resourceVersion"]},
    )
    try:
        frames = w.wait_for(1)
        assert w.status == 200
        assert frames and frames[0]["type"] == "ERROR"
        assert frames[0]["object"]["code"] == 410 and frames[0]["object"]["reason"] == "Expired"
        assert w.done.wait(5)  # and the stream closes
    finally:
        w.close()


def test_too_old_resource_version_is_410_error_frame(etcd) -> None:
    with running_apiserver(etcd.url, ["--watch-cache-size", "5"]) as server:
        check_too_old_is_410(server.url)


def test_selectors_apply_to_events(api: httpx.Client, ns: str, apiserver: ApiServer) -> None:
    w = Watch(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", {"labelSelector": "app=web"})
    try:
        api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("other", {"app": "db"}))
        api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("w", {"app": "web"}))
        # Leaving the selection is a DELETED for this watcher, entering it an ADDED.
        api.patch(
            f"/api/v1/namespaces/{ns}/pods/w",
            json={"metadata": {"labels": {"app": "gone"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        api.patch(
            f"/api/v1/namespaces/{ns}/pods/other",
            json={"metadata": {"labels": {"app": "web"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        frames = w.wait_for(3)
        assert [(f["type"], f["object"]["metadata"]["name"]) for f in frames] == [
            ("ADDED", "w"),
            ("DELETED", "w"),
            ("ADDED", "other"),
        ]
    finally:
        w.close()


def test_timeout_seconds_closes_the_stream(ns: str, apiserver: ApiServer) -> None:
    start = time.monotonic()
    with httpx.Client(timeout=10, verify=admin_tls()) as c:
        r = c.get(
            f"{apiserver.url}/api/v1/namespaces/{ns}/pods", params={"watch": "1", "timeoutSeconds": "1"}
        )
    assert r.status_code == 200 and 0.9 <= time.monotonic() - start < 5


def test_bookmarks_only_when_asked(api: httpx.Client, ns: str, apiserver: ApiServer) -> None:
    rv = api.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]
    with httpx.Client(timeout=10, verify=admin_tls()) as c:
        plain = c.get(
            f"{apiserver.url}/api/v1/namespaces/{ns}/pods",
            params={"watch": "1", "timeoutSeconds": "1", "resourceVersion": rv},
        )
    assert plain.text == ""  # nothing happened, nothing sent


def _gauge(metrics_text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of the gauge `name` in Prometheus text, by its sorted labels."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
        if s.name == name
    }


def test_storage_watches_stay_constant_as_client_watches_are_added(
    api: httpx.Client, ns: str, apiserver: ApiServer, request: pytest.FixtureRequest
) -> None:
    """20 client watches on two resources add no watch on storage: the apiserver's own gauge of storage watches
    stays at one, and on etcd, etcd's watcher gauge does not move (it counts every watch etcd serves)."""
    storage_before = _gauge(api.get("/metrics").text, "apiserver_storage_watches")
    assert list(storage_before.values()) == [1], storage_before  # one backend, one watch
    ((_, backend),) = next(iter(storage_before))
    etcd_url = request.getfixturevalue("etcd").url if backend == "etcd" else None
    etcd_before = _gauge(httpx.get(f"{etcd_url}/metrics").text, ETCD_WATCHERS) if etcd_url else None
    clients_before = sum(_gauge(api.get("/metrics").text, "apiserver_registered_watchers").values())

    paths = [f"/api/v1/namespaces/{ns}/pods"] * 10 + [f"/api/v1/namespaces/{ns}/configmaps"] * 10
    watches = [Watch(f"{apiserver.url}{path}", {}) for path in paths]
    try:
        api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("fan"))
        api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "fan"}})
        for w in watches:
            assert [f["object"]["metadata"]["name"] for f in w.wait_for(1)] == ["fan"]
        metrics = api.get("/metrics").text
        assert sum(_gauge(metrics, "apiserver_registered_watchers").values()) >= clients_before + 20
        assert _gauge(metrics, "apiserver_storage_watches") == storage_before
        if etcd_url:
            etcd_after = _gauge(httpx.get(f"{etcd_url}/metrics").text, ETCD_WATCHERS)
            assert etcd_after == etcd_before and etcd_after[()] >= 1
    finally:
        for w in watches:
            w.close()
