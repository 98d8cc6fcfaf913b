"""Namespaces of a test's own: a unique name, created as the admin, deleted when the test (or module) is done,
with what the tests put in it when asked to purge."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import httpx

# What the tests create in their namespaces; emptied on teardown because nothing finalizes a deleted namespace
# here (no namespace controller), and leftovers would show up in other suites' cluster-wide lists.
NAMESPACED_COLLECTIONS = [
    "/apis/apps/v1/namespaces/{ns}/deployments",
    "/apis/apps/v1/namespaces/{ns}/replicasets",
    "/api/v1/namespaces/{ns}/pods",
    "/api/v1/namespaces/{ns}/services",
    "/api/v1/namespaces/{ns}/configmaps",
    "/api/v1/namespaces/{ns}/events",
    "/api/v1/namespaces/{ns}/endpoints",
    "/api/v1/namespaces/{ns}/secrets",
    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
]


def purge_namespace(http: httpx.Client, namespace: str) -> None:
    """Delete everything the tests may have created in `namespace`, then the namespace itself."""
    for collection in NAMESPACED_COLLECTIONS:
        http.request(
            "DELETE",
            collection.format(ns=namespace),
            params={"gracePeriodSeconds": "0"},
        )
    http.delete(f"/api/v1/namespaces/{namespace}")


@contextlib.contextmanager
def temporary_namespace(http: httpx.Client, prefix: str = "t-", *, purge: bool = False) -> Iterator[str]:
    """A new namespace `<prefix><random>` for the body of the block, created through `http` (an admin client);
    deleted afterwards, emptied first (`purge_namespace`) if `purge`."""
    name = prefix + uuid.uuid4().hex[:8]
    r = http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code == 201, r.text
    try:
        yield name
    finally:
        if purge:
            purge_namespace(http, name)
        else:
            http.delete(f"/api/v1/namespaces/{name}")
