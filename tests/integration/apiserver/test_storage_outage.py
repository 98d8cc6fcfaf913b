"""etcd stopped: the API answers 503 quickly (never hangs) and recovers by itself when etcd returns."""

from __future__ import annotations

import time

import pytest

from tests import factories
from tests.harness import ApiServer, Etcd
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.slow]


def test_etcd_down_gives_503_then_recovers(private_etcd: Etcd, private_apiserver: ApiServer) -> None:
    with private_apiserver.client(timeout=15) as api:
        assert api.post("/api/v1/namespaces/default/pods", json=factories.pod("before")).status_code == 201
        private_etcd.stop()

        for method, path, body in [
            ("POST", "/api/v1/namespaces/default/pods", factories.pod("during")),
            ("GET", "/api/v1/namespaces/default/pods/before", None),
            ("GET", "/api/v1/namespaces/default/pods", None),
        ]:
            start = time.monotonic()
            r = api.request(method, path, json=body)
            elapsed = time.monotonic() - start
            assert r.status_code == 503, (method, path, r.text)
            assert r.json()["reason"] == "ServiceUnavailable" and "Traceback" not in r.text
            assert elapsed < 4.0, f"{method} {path} took {elapsed:.1f}s"
        assert api.get("/readyz").status_code != 200

        private_etcd.start()
        wait_until(lambda: api.get("/readyz").status_code == 200, 30, what="apiserver ready again")
        r = api.post("/api/v1/namespaces/default/pods", json=factories.pod("after"))
        assert r.status_code == 201, r.text
        names = {p["metadata"]["name"] for p in api.get("/api/v1/namespaces/default/pods").json()["items"]}
        assert {"before", "after"} <= names and "during" not in names


def test_watch_survives_an_etcd_restart(private_etcd: Etcd, private_apiserver: ApiServer) -> None:
    from tests.integration.apiserver.test_watch import Watch

    with private_apiserver.client(timeout=15) as api:
        rv = api.get("/api/v1/namespaces/default/configmaps").json()["metadata"]["resourceVersion"]
        api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "a"}})
        private_etcd.restart()
        wait_until(lambda: api.get("/readyz").status_code == 200, 30, what="apiserver ready again")
        api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "b"}})
        # A client resuming from its last revision sees both events, in order, nothing missed.
        w = Watch(f"{private_apiserver.url}/api/v1/namespaces/default/configmaps", {"resourceVersion": rv})
        try:
            frames = w.wait_for(2)
            assert [f["object"]["metadata"]["name"] for f in frames] == ["a", "b"]
        finally:
            w.close()
