"""A test helper that runs a coroutine for the body of an `async with`: a watch that records what it sees, a
stand-in kubelet that readies pods, a Lease renewer."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self


class Background:
    """Subclasses write `_run()`. `async with` starts it in a task; leaving cancels the task and waits for it, so
    nothing is left running, and an error the task raised (other than its cancellation) fails the test."""

    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
