"""Helpers for the tests in this folder, importable by its tests (the fixtures stay in conftest.py).

Fixtures for the client-side tests: a `Client` of the module's apiserver and a fresh namespace per test."""

from __future__ import annotations

import uuid

from apimachinery.client import Client
from apimachinery.resources import ResourceInfo, by_resource


def res(group: str, resource: str) -> ResourceInfo:
    info = by_resource(group, resource)
    assert info is not None
    return info


NAMESPACES = res("", "namespaces")


CONFIGMAPS = res("", "configmaps")


PODS = res("", "pods")


DEPLOYMENTS = res("apps", "deployments")


EVENTS = res("", "events")


LEASES = res("coordination.k8s.io", "leases")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_namespace(client: Client, name: str | None = None) -> str:
    name = name or unique("client")
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name
