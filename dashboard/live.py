"""Live pages: watches of the resources a page shows become server-sent events carrying its new body.

For each open page the browser holds one EventSource on `/events/<page>`. Behind it, one watch per resource
the page shows (as the user, so a watch the user may not open is simply not there) sets a flag on every
change; the stream then re-renders the page's body and sends it when it differs from what it sent last.

Contract of a stream:
* Each watcher lists (for a resourceVersion) and then watches; after every list it marks the page changed,
  so the first render after connecting, and the one after a broken watch, reflect everything up to then.
  A burst of changes (a rollout) is rendered once per COALESCE seconds.
* A watcher that is refused (401/403/404) asks again every REFUSED_RETRY seconds (a role may be granted
  meanwhile); one that fails otherwise lists again after a backoff. When the browser goes away, Starlette cancels the stream and the stream cancels its watchers.
* Payloads are JSON (`{"html": ...}`, `{"lines": [...]}`), ASCII-escaped: a CR or LF inside an API string
  can never end an SSE field or start another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from apimachinery.backoff import Backoff
from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError, is_forbidden, is_not_found, is_unauthorized
from apimachinery.resources import ResourceInfo
from apimachinery.tasks import cancel_and_wait

log = logging.getLogger(__name__)

COALESCE = 0.5
HEARTBEAT = 15.0
WATCH_SECONDS = 300
LOG_BATCH = 200
REFUSED_RETRY = 30.0


def sse(event: str, payload: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(payload, ensure_ascii=True)}\n\n"


async def watch_changes(
    client: Client, res: ResourceInfo, namespace: str | None, changed: asyncio.Event
) -> None:
    """Set `changed` after each (re)list and on every watch event of `res`, until cancelled or refused."""
    backoff = Backoff(initial=0.5, cap=10.0, jitter=0.2)
    while True:
        try:
            listing = await client.list(res, namespace, limit=1)
            rv = (listing.get("metadata") or {}).get("resourceVersion")
            changed.set()
            frames = client.watch(res, namespace, resource_version=rv, timeout_seconds=WATCH_SECONDS)
            async with contextlib.aclosing(frames):
                async for etype, _obj in frames:
                    if etype != "BOOKMARK":
                        changed.set()
            backoff.reset()
        except StatusError as err:
            # Refused (the page says so): ask again now and then, as a role may be granted meanwhile.
            delay = (
                REFUSED_RETRY
                if (is_unauthorized(err) or is_forbidden(err) or is_not_found(err))
                else backoff.next()
            )
            log.info(
                "watch ended; listing again",
                extra={"resource": res.resource, "code": err.code, "delay": delay},
            )
            await asyncio.sleep(delay)
        except ClientConnectionError as exc:
            delay = backoff.next()
            log.warning("watch broke; listing again", extra={"resource": res.resource, "error": str(exc)})
            await asyncio.sleep(delay)


async def page_stream(
    client: Client, watches: list[tuple[ResourceInfo, str | None]], render: Callable[[], Awaitable[str]]
) -> AsyncIterator[str]:
    """The SSE stream of one open page: an `update` event with the new body whenever it changes."""
    changed = asyncio.Event()
    tasks = [
        asyncio.create_task(watch_changes(client, res, ns, changed)) for res, ns in dict.fromkeys(watches)
    ]
    last = None
    try:
        yield "retry: 2000\n\n"
        while True:
            try:
                await asyncio.wait_for(changed.wait(), HEARTBEAT)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            await asyncio.sleep(COALESCE)  # gather a burst of events into one render
            changed.clear()
            html = await render()
            if html != last:
                last = html
                yield sse("update", {"html": html})
    finally:
        await cancel_and_wait(tasks)


async def log_stream(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The SSE stream of a followed log: `lines` events in batches, then `end` (or `error` with the reason)."""
    yield "retry: 3600000\n\n"  # a log that ended stays ended; a reload follows again
    yield sse("reset", {})
    batch: list[str] = []
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=10 * LOG_BATCH)

    async def pump() -> None:
        try:
            async for line in lines:
                await queue.put(line)
        finally:
            await queue.put(None)

    task = asyncio.create_task(pump())
    try:
        while True:
            line = await queue.get()
            if line is not None:
                batch.append(line)
            while line is not None and not queue.empty() and len(batch) < LOG_BATCH:
                line = queue.get_nowait()
                if line is not None:
                    batch.append(line)
            if batch:
                yield sse("lines", {"lines": batch})
                batch = []
            if line is None:
                break
        try:
            task.result()
            yield sse("end", {})
        except (StatusError, ClientConnectionError) as exc:
            yield sse("error", {"message": getattr(exc, "message", None) or str(exc)})
    finally:
        await cancel_and_wait([task])
