"""Long-lived HTTP streams that the shared `Client` does not offer: a watch with a Table Accept header
(`get -w`) and followed logs (`logs -f`). Same credentials and TLS settings as the client, no read timeout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.streams import stream_lines


async def lines(
    client: Client, path: str, params: dict[str, str], accept: str = "application/json"
) -> AsyncIterator[str]:
    """Each line of the response body until the server ends it. Non-2xx raises `StatusError`."""
    async for line in stream_lines(client, path, params, accept=accept, user_agent="kctl/0.1.0"):
        yield line


async def watch_frames(
    client: Client, path: str, params: dict[str, str], accept: str
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """`(type, object)` per watch frame; an ERROR frame raises its `StatusError`."""
    async for line in lines(client, path, {**params, "watch": "true"}, accept):
        if not line.strip():
            continue
        frame = json.loads(line)
        etype, obj = str(frame.get("type")), frame.get("object") or {}
        if etype == "ERROR":
            raise StatusError.from_status(obj, 500)
        yield etype, obj
