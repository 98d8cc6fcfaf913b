"""What the integration client tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

import uuid

from apimachinery.client import Client
from tests.resources import NAMESPACES


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_namespace(client: Client, name: str | None = None) -> str:
    name = name or unique("client")
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name
