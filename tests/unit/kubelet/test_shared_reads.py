"""Reads shared by concurrent callers (kubelet/shared_reads.py): one read per key while it is under way, a new
one after it, failures reach every caller, and a cancelled caller leaves the read to the others."""

from __future__ import annotations

import asyncio

import pytest

from kubelet.shared_reads import SharedReads


def test_callers_at_the_same_time_share_one_read_and_later_ones_read_again() -> None:
    async def run() -> None:
        reads: list[str] = []
        gate = asyncio.Event()
        shared: SharedReads[str, str] = SharedReads()

        async def read(key: str) -> str:
            reads.append(key)
            await gate.wait()
            return key.upper()

        first = [asyncio.ensure_future(shared.get("a", lambda: read("a"))) for _ in range(5)]
        other = asyncio.ensure_future(shared.get("b", lambda: read("b")))
        await asyncio.sleep(0)
        gate.set()
        assert await asyncio.gather(*first) == ["A"] * 5 and await other == "B"
        assert sorted(reads) == ["a", "b"]
        assert await shared.get("a", lambda: read("a")) == "A"
        assert sorted(reads) == ["a", "a", "b"]

    asyncio.run(run())


def test_a_failed_read_fails_every_caller_and_the_next_call_reads_again() -> None:
    async def run() -> None:
        calls = 0
        shared: SharedReads[str, int] = SharedReads()

        async def read() -> int:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            if calls == 1:
                raise ValueError("down")
            return calls

        results = await asyncio.gather(*(shared.get("k", read) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(r, ValueError) for r in results)
        assert await shared.get("k", read) == 2

    asyncio.run(run())


def test_a_cancelled_caller_leaves_the_read_to_the_others() -> None:
    async def run() -> None:
        shared: SharedReads[str, str] = SharedReads()

        async def read() -> str:
            await asyncio.sleep(0.02)
            return "done"

        gone = asyncio.ensure_future(shared.get("k", read))
        stays = asyncio.ensure_future(shared.get("k", read))
        await asyncio.sleep(0)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert await stays == "done"

    asyncio.run(run())
