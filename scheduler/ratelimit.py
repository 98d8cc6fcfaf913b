"""A client-side rate limit for the scheduler's event writes, as client-go's token bucket (--kube-api-qps/-burst).

kube-scheduler records events through a client of its own whose requests wait for a token (QPS 50, burst 100 by
default), so a burst of bindings is not slowed by as many event writes: the events queue in the recorder and
reach the apiserver at the limited rate. `RateLimitedTransport` wraps an httpx transport the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx


class TokenBucket:
    """`qps` tokens a second, at most `burst` saved up; `take()` waits for one. `clock` and `sleep` are the time
    it reads and the wait it takes (tests give their own)."""

    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be > 0 and burst >= 1")
        self.qps, self.burst = qps, burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.qps)
        self._stamp = now

    async def take(self) -> None:
        async with self._lock:  # one waiter at a time, so tokens go out in order
            self._refill()
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.qps)
                self._refill()
            self._tokens -= 1


class RateLimitedTransport(httpx.AsyncBaseTransport):
    """Every request waits for a token from `bucket`, then goes through `inner`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, bucket: TokenBucket) -> None:
        self.inner, self.bucket = inner, bucket

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.bucket.take()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
