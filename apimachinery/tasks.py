"""Helpers for the asyncio tasks a component owns."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel every task in `tasks` and wait until all have ended. Their results and exceptions (including the
    CancelledError each gets) are dropped: this is for shutting down, where nobody wants them."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
