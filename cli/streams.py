"""Long-lived HTTP streams that the shared `Client` does not offer: a watch with a Table Accept header
(`get -w`) and followed logs (`logs -f`). Same credentials and TLS settings as the client, no read timeout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from apimachinery.client import Client, ClientConnectionError, status_error
from apimachinery.errors import StatusError


async def lines(
    client: Client, path: str, params: dict[str, str], accept: str = "application/json"
) -> AsyncIterator[str]:
    """Each line of the response body until the server ends it. Non-2xx raises `StatusError`."""
    config = client.config
    headers = {"Accept": accept, "User-Agent": "kctl/0.1.0"}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    timeout = httpx.Timeout(connect=5.0, read=None, write=30.0, pool=5.0)
    async with httpx.AsyncClient(
        base_url=config.server, headers=headers, verify=config.ssl_context(), timeout=timeout, trust_env=False
    ) as http:
        try:
            async with http.stream("GET", path, params=params) as resp:
                if not resp.is_success:
                    await resp.aread()
                    raise status_error(resp)
                async for line in resp.aiter_lines():
                    yield line
        except httpx.TransportError as exc:
            raise ClientConnectionError(f"apiserver {config.server} unreachable (GET {path}): {exc}") from exc


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
