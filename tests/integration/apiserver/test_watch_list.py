"""The watch-list protocol (client-go's reflector with WatchListClient): `sendInitialEvents=true` with
`resourceVersionMatch=NotOlderThan` streams the current state as ADDED events, then a BOOKMARK annotated
`k8s.io/initial-events-end`, then live events; the option combinations kube-apiserver refuses are 422."""

from __future__ import annotations

import httpx
import pytest

from tests import factories
from tests.harness import ApiServer
from tests.integration.apiserver.test_watch import Watch

pytestmark = pytest.mark.etcd

WATCH_LIST = {
    "sendInitialEvents": "true",
    "resourceVersionMatch": "NotOlderThan",
    "allowWatchBookmarks": "true",
    "timeoutSeconds": "5",
}


def test_initial_events_then_end_bookmark_then_live(api: httpx.Client, ns: str, apiserver: ApiServer) -> None:
    pods = f"/api/v1/namespaces/{ns}/pods"
    for name in ("a", "b"):
        assert api.post(pods, json=factories.pod(name)).status_code == 201
    rv = api.get(pods).json()["metadata"]["resourceVersion"]
    w = Watch(f"{apiserver.url}{pods}", {**WATCH_LIST, "resourceVersion": rv})
    try:
        frames = w.wait_for(3)
        assert w.status == 200
        assert [(f["type"], f["object"]["metadata"].get("name")) for f in frames[:2]] == [
            ("ADDED", "a"),
            ("ADDED", "b"),
        ]
        end = frames[2]
        assert end["type"] == "BOOKMARK"
        assert end["object"]["kind"] == "Pod" and end["object"]["apiVersion"] == "v1"
        assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert int(end["object"]["metadata"]["resourceVersion"]) >= int(rv)
        assert api.post(pods, json=factories.pod("c")).status_code == 201
        live = w.wait_for(4)[3]
        assert (live["type"], live["object"]["metadata"]["name"]) == ("ADDED", "c")
    finally:
        w.close()


def test_without_initial_events_starts_now(api: httpx.Client, ns: str, apiserver: ApiServer) -> None:
    pods = f"/api/v1/namespaces/{ns}/pods"
    assert api.post(pods, json=factories.pod("old")).status_code == 201
    w = Watch(f"{apiserver.url}{pods}", {**WATCH_LIST, "sendInitialEvents": "false"})
    try:
        assert w.status == 200
        assert api.post(pods, json=factories.pod("new")).status_code == 201
        frames = w.wait_for(1)
        assert [(f["type"], f["object"]["metadata"]["name"]) for f in frames] == [("ADDED", "new")]
    finally:
        w.close()


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"watch": "true", "sendInitialEvents": "true", "allowWatchBookmarks": "true"},
            "resourceVersionMatch",
            "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
        (
            {"watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"},
            "allowWatchBookmarks",
            "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
        ),
        (
            {"watch": "true", "resourceVersionMatch": "NotOlderThan"},
            "resourceVersionMatch",
            "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ),
        (
            {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"},
            "sendInitialEvents",
            "Forbidden: sendInitialEvents is forbidden for list",
        ),
    ],
)
def test_refused_combinations(api: httpx.Client, ns: str, params: dict, field: str, message: str) -> None:
    r = api.get(f"/api/v1/namespaces/{ns}/pods", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["details"]["kind"] == "ListOptions" and body["details"]["group"] == "meta.k8s.io"
    assert [(c["field"], c["message"]) for c in body["details"]["causes"]] == [(field, message)]
