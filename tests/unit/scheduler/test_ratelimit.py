"""The token bucket that paces the scheduler's event writes, and the transport that applies it."""

import time

import httpx
import pytest

from scheduler.ratelimit import RateLimitedTransport, TokenBucket


async def test_burst_goes_at_once_then_qps_paces() -> None:
    bucket = TokenBucket(qps=20, burst=3)
    started = time.monotonic()
    for _ in range(3):
        await bucket.take()
    assert time.monotonic() - started < 0.04  # the burst is saved up
    for _ in range(2):
        await bucket.take()
    assert time.monotonic() - started >= 0.09  # two more tokens at 20/s: 0.1 s (timer slack allowed)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucket(qps=0, burst=1)
    with pytest.raises(ValueError):
        TokenBucket(qps=1, burst=0)


async def test_transport_waits_for_a_token_per_request() -> None:
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        return httpx.Response(201, json={"kind": "Event"})

    transport = RateLimitedTransport(httpx.MockTransport(handler), TokenBucket(qps=10, burst=1))
    async with httpx.AsyncClient(transport=transport, base_url="http://apiserver.invalid") as http:
        for _ in range(3):
            assert (await http.post("/api/v1/namespaces/default/events", json={})).status_code == 201
    assert len(seen) == 3 and seen[2] - seen[0] >= 0.18  # 1 at once, then one per 0.1 s
