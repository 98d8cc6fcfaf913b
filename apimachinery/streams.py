"""Long-lived HTTP streams that the shared `Client` does not offer (followed logs, a watch with a Table Accept
header): the response body line by line, with the client's credentials and TLS settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from apimachinery.client import Client, ClientConnectionError, status_error


async def stream_lines(
    client: Client,
    path: str,
    params: dict[str, str],
    *,
    accept: str,
    user_agent: str,
    read_timeout: float | None = None,
) -> AsyncIterator[str]:
    """Each line of the body of `GET path` until the server ends it. Non-2xx raises `StatusError`, an unreachable
    server `ClientConnectionError`. `read_timeout` None waits for ever between lines (a quiet followed log)."""
    config = client.config
    headers = {"Accept": accept, "User-Agent": user_agent}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    timeout = httpx.Timeout(connect=5.0, read=read_timeout, write=30.0, pool=5.0)
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
