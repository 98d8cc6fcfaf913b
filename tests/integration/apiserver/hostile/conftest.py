"""The hostile-input suite's apiserver: its own etcd, tight limits so slow-client tests finish in seconds, and
after every test the checks the issue asks for: the apiserver is still ready, its log has no traceback, and the
objects created before the attack are intact.

`assert_status(response, code, reason)` checks a refusal: the exact code, a Kubernetes Status body (kind, code,
reason, a message), no traceback in the body. `put_raw(key, value)` writes straight into etcd with the real
`etcdctl`, past the API and its validation, as an attacker with storage access (or an older server) would.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.harness import running_apiserver, running_etcd
from tests.integration.apiserver.hostile.helpers import (
    FLAGS,
    Hostile,
)

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="package")
def hostile() -> Iterator[Hostile]:
    with running_etcd() as etcd, running_apiserver(etcd.url, FLAGS) as server:
        h = Hostile(etcd, server)
        ns = h.namespace()
        for path, body in (
            (f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "keep"}, "data": {"k": "v"}}),
            (f"/api/v1/namespaces/{ns}/pods", {"metadata": {"name": "keep"},
                                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
            (f"/api/v1/namespaces/{ns}/services", {"metadata": {"name": "keep"},
                                                  "spec": {"ports": [{"port": 80}]}}),
        ):  # fmt: skip
            r = h.api.post(path, json=body)
            assert r.status_code == 201, r.text
            h.sentinels[f"{path}/keep"] = r.json()["metadata"]["resourceVersion"]
        yield h
        h.api.close()


@pytest.fixture(autouse=True)
def still_standing(hostile: Hostile) -> Iterator[None]:
    """After each test: ready, no traceback logged, the objects made before every attack unchanged."""
    start = len(hostile.server.logs())
    yield
    assert (
        httpx.get(hostile.server.url + "/readyz", timeout=5, verify=hostile.server.ca_file).status_code == 200
    )
    logs = hostile.server.logs()[start:]
    assert "Traceback" not in logs, logs[-4000:]
    assert '"level": "error"' not in logs, [line for line in logs.splitlines() if '"level": "error"' in line][
        :3
    ]
    for path, rv in hostile.sentinels.items():
        r = hostile.api.get(path)
        assert r.status_code == 200 and r.json()["metadata"]["resourceVersion"] == rv, r.text


@pytest.fixture
def api(hostile: Hostile) -> httpx.Client:
    return hostile.api


@pytest.fixture
def ns(hostile: Hostile) -> str:
    return hostile.namespace()
