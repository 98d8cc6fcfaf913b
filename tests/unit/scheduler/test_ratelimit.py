"""The token bucket that paces the scheduler's event writes, and the transport that applies it."""

import time

import httpx
import pytest

from scheduler.ratelimit import RateLimitedTransport, TokenBucket


async def test_burst_goes_at_once_then_qps_paces() -> None:
    now = 100.0
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        nonlocal now
        waits.append(seconds)
        now += seconds

    bucket = TokenBucket(qps=20, burst=3, clock=lambda: now, sleep=sleep)
    for _ in range(3):
        await bucket.take()
    assert waits == []  # the burst is saved up
    for _ in range(2):
        await bucket.take()
    assert waits == [pytest.approx(0.05), pytest.approx(0.05)]  # then one token every 1/20 s
    now += 10  # a long pause saves up no more than the burst
    for _ in range(3):
        await bucket.take()
    await bucket.take()
    assert len(waits) == 3 and waits[2] == pytest.approx(0.05)


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
