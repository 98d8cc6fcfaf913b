"""Property-based fuzzing of every operation in the apiserver's own OpenAPI v3 documents (schemathesis): whatever
the bodies and query strings, no answer is a 5xx, and every 4xx is a Status.

The path parameters point at objects that exist (seeded before each case, recreated if a case deleted one), so
the generated requests get past 404 into decoding, validation, admission and storage. Runs are bounded and
deterministic: a fixed number of examples per operation, derandomized. Watches are given a timeout of 1 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.harness import ADMIN
from tests.integration.apiserver.hostile.helpers import Hostile

SEED_NS = "fuzz"
SEED_NAME = "seed"
NAMESPACE_NAME = "fuzz-target"  # what /api/v1/namespaces/{name} operations get (the seeds' namespace stays)
EXAMPLES = 20
# Valid requests that remove what every other case stands on (all namespaces, all nodes): not fuzzed.
DESTRUCTIVE = {("DELETE", "/api/v1/namespaces"), ("DELETE", "/api/v1/nodes")}

SEEDS: dict[str, dict[str, Any]] = {
    "configmaps": {"metadata": {"name": SEED_NAME}, "data": {"k": "v"}},
    "secrets": {"metadata": {"name": SEED_NAME}, "data": {"k": "dg=="}},
    "pods": {"metadata": {"name": SEED_NAME}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    "services": {"metadata": {"name": SEED_NAME}, "spec": {"ports": [{"port": 80}]}},
    "endpoints": {"metadata": {"name": SEED_NAME}, "subsets": [{"addresses": [{"ip": "10.244.3.4"}], "ports": [{"port": 80}]}]},
    "events": {"metadata": {"name": SEED_NAME}, "involvedObject": {"kind": "Pod", "name": "x", "namespace": SEED_NS}},
    "deployments": {"metadata": {"name": SEED_NAME}, "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}},
    "replicasets": {"metadata": {"name": SEED_NAME}, "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}},
    "leases": {"metadata": {"name": SEED_NAME}, "spec": {"holderIdentity": "x"}},
    "nodes": {"metadata": {"name": SEED_NAME}, "spec": {"podCIDR": "10.244.9.0/24"}},
    "namespaces": {"metadata": {"name": NAMESPACE_NAME}},
}  # fmt: skip


def _collection(hostile: Hostile, resource: str) -> str:
    if resource in ("nodes", "namespaces"):
        return f"/api/v1/{resource}"
    group = {
        "deployments": "apis/apps/v1",
        "replicasets": "apis/apps/v1",
        "leases": "apis/coordination.k8s.io/v1",
    }
    return f"/{group.get(resource, 'api/v1')}/namespaces/{SEED_NS}/{resource}"


def ensure_seeds(hostile: Hostile) -> None:
    for resource, body in SEEDS.items():
        path = _collection(hostile, resource)
        name = body["metadata"]["name"]
        current = hostile.api.get(f"{path}/{name}")
        if current.status_code == 200 and not current.json()["metadata"].get("deletionTimestamp"):
            continue
        if current.status_code == 200:  # terminating: let it go, then make it again
            hostile.api.request("DELETE", f"{path}/{name}", json={"gracePeriodSeconds": 0})
            hostile.api.put(f"/api/v1/namespaces/{name}/finalize",
                            json={"metadata": {"name": name}, "spec": {"finalizers": []}})  # fmt: skip
        r = hostile.api.post(path, json=body)
        assert r.status_code in (201, 409), r.text


@pytest.fixture(scope="module")
def openapi(hostile: Hostile) -> Any:
    """Every group-version document of /openapi/v3 in one schema (component names are fully qualified)."""
    api = hostile.api
    merged: dict[str, Any] = {"openapi": "3.0.0", "info": {"title": "kubelite", "version": "v1.32"}, "paths": {},
                              "components": {"schemas": {}}}  # fmt: skip
    for entry in api.get("/openapi/v3").json()["paths"].values():
        doc = api.get(entry["serverRelativeURL"]).json()
        merged["paths"].update(doc["paths"])
        merged["components"]["schemas"].update(doc.get("components", {}).get("schemas", {}))
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": SEED_NS}})
    assert r.status_code in (201, 409), r.text
    ensure_seeds(hostile)
    return schemathesis.openapi.from_dict(merged)


@pytest.fixture(scope="module")
def session(hostile: Hostile) -> Iterator[requests.Session]:
    s = requests.Session()
    s.trust_env = False  # only ever the apiserver on loopback, whatever the environment's proxy settings
    # HTTPS as the admin: the test CA, and a client certificate in system:masters.
    s.verify = hostile.server.ca_file
    cert, key = hostile.server.pki.credentials(*ADMIN)
    s.cert = (str(cert), str(key))
    yield s
    s.close()


@pytest.mark.timeout(300)
def test_no_5xx(openapi: Any, hostile: Hostile, session: requests.Session) -> None:
    """Each operation of the schema, EXAMPLES generated cases each (schemathesis's strategies driven by Hypothesis
    directly: its pytest plugin does not load under this pytest)."""
    failures: list[str] = []
    count = operations = 0
    for result in openapi.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in DESTRUCTIVE:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal count
            count += 1
            call(case, hostile, session)

        try:
            run()
        except AssertionError as exc:
            failures.append(str(exc)[:600])
        assert hostile.api.get("/readyz", timeout=5).status_code == 200
    print(f"fuzz: {count} generated requests over {operations} operations")  # shown with pytest -s
    assert count >= 100, count
    assert not failures, "\n".join(failures)


def call(case: Any, hostile: Hostile, session: requests.Session) -> None:
    params = case.path_parameters or {}
    if "namespace" in params:
        params["namespace"] = SEED_NS
    if "name" in params:
        params["name"] = NAMESPACE_NAME if case.path.startswith("/api/v1/namespaces/{name}") else SEED_NAME
    query = case.query or {}
    if query.get("watch") not in (None, False, "false"):
        query["timeoutSeconds"] = 1
    # schemathesis passes verify= itself: give the session's (the test CA) explicitly.
    response = case.call(
        base_url=hostile.server.url, session=session, timeout=15, verify=session.verify, cert=session.cert
    )
    where = (
        f"{case.method} {case.formatted_path}?{case.query} -> {response.status_code}: {response.text[:300]}"
    )
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert body["kind"] == "Status" and body["code"] == response.status_code, where
    if case.method.upper() == "DELETE":
        ensure_seeds(hostile)  # the next cases need the objects again
