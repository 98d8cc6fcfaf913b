"""The one way tests wait: poll a predicate until it holds or a deadline passes, then fail with what was awaited.

`wait_until` is for synchronous tests, `eventually` for coroutines (its predicate may be sync or async). Both return
the predicate's first truthy value, treat an exception in `ignore` as "not yet" (the last one is quoted in the
failure), and raise TimeoutError naming `what`, the time waited and, if given, `state()` at the deadline.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

Ignored = tuple[type[BaseException], ...]


def _timed_out(
    what: str, timeout: float, last: BaseException | None, state: Callable[[], Any] | None
) -> TimeoutError:
    message = f"timed out after {timeout}s waiting for {what}"
    if last is not None:
        message += f" (last error: {last!r})"
    if state is not None:
        message += f"; state: {state()}"
    return TimeoutError(message)


def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
    *,
    ignore: Ignored = (Exception,),
    state: Callable[[], Any] | None = None,
) -> Any:
    """Call `predicate()` every `interval` seconds until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except ignore as exc:  # the predicate may fail until what it waits for is up
            last = exc
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last, state)
        time.sleep(interval)


async def eventually(
    predicate: Callable[[], Any],
    timeout: float = 20.0,
    interval: float = 0.1,
    what: str = "condition",
    *,
    ignore: Ignored = (Exception,),
    state: Callable[[], Any] | None = None,
) -> Any:
    """Await `predicate()` (a plain function or one returning an awaitable) until truthy; return the value.
    The longer default deadline is for controllers running in the test's own loop, which share its time."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
        except ignore as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last, state)
        await asyncio.sleep(interval)
