"""The body of a watch response: the watch's events as NDJSON frames, written to the client in as few writes as
the events allow.

What a watch costs the apiserver is paid per write, not per event: every write to a watcher is one pass through
the ASGI layers, one TLS record and one send(2), and with 100 watchers each write happens 100 times. So:

* an event from the watch cache is serialized once for every watcher (`CacheEvent.encoded()`, as kube-apiserver's
  cachingObject does); only a watch whose event differs (a Table, a selector turning MODIFIED into ADDED or
  DELETED, a converted version, a BOOKMARK) encodes its own frame;
* every event that is ready when one is sent goes in the same write (`events_ready()`), up to WATCH_BATCH_BYTES;
* a busy watch writes at most once per FLUSH_INTERVAL (50 ms; the next write waits until that much time has
  passed since the last one and takes every event that arrived meanwhile); a quiet watch writes its next event at
  once. Informers then lag by up to that much, which controllers must be correct against (as against any
  lagging watch): the Job controller waits for its own status writes to show in its cache
  (controller_manager.job_tracking.StatusWrites), tests/integration/workloads/test_job_lagging_watch.py runs it
  at 0.4 s. `--watch-flush-interval` sets it.

The watcher's queue stays bounded (apiserver.watchcache.Watcher): a client that reads too slowly is closed and
resumes from the last resourceVersion it saw; writers never wait for a watch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

from starlette.responses import StreamingResponse

from apimachinery.errors import StatusError
from apimachinery.resources import ResourceInfo
from apiserver import metrics
from apiserver.watchcache import CacheEvent, events_ready, frame

Obj = dict[str, Any]
Events = AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]
TableFrame = Callable[[str, Obj], bytes]

WATCH_BATCH_BYTES = 64 * 1024  # a watch writes at most this much at once when events come in a burst
FLUSH_INTERVAL = 0.05  # seconds: how often a busy watch may write at most (0: whenever its queue is empty)


def set_flush_interval(seconds: float) -> None:
    """The apiserver's --watch-flush-interval (tests raise it to make informers lag)."""
    global FLUSH_INTERVAL
    if not 0.0 <= seconds <= 10.0:
        raise ValueError(f"watch flush interval {seconds} s: must lie in [0, 10]")
    FLUSH_INTERVAL = seconds


def response(events: Events, info: ResourceInfo, table: TableFrame | None = None) -> StreamingResponse:
    """The streaming response of a watch; `table` frames each event as a Table (kubectl get -w)."""
    return StreamingResponse(_body(events, info, table), media_type="application/json")


def _frame(
    etype: str, obj: Obj, cached: CacheEvent | None, info: ResourceInfo, table: TableFrame | None
) -> bytes:
    if etype == "BOOKMARK":
        return frame(
            "BOOKMARK", {"kind": info.kind, "apiVersion": info.api_version, "metadata": obj["metadata"]}
        )
    if table is not None:
        return table(etype, obj)
    if cached is not None:
        return cached.encoded()  # serialized once for every watcher
    return frame(etype, obj)


async def _body(events: Events, info: ResourceInfo, table: TableFrame | None) -> AsyncGenerator[bytes, None]:
    metrics.watchers.labels(info.resource).inc()
    sent = metrics.watch_events.labels(info.resource)
    loop = asyncio.get_running_loop()
    batch: list[bytes] = []
    size = count = 0
    written = -FLUSH_INTERVAL  # when the last write was made (loop time)
    try:
        while True:
            try:
                etype, obj, cached = await anext(events)
            except StopAsyncIteration:
                break
            except StatusError as err:
                # Kubernetes answers 200 and reports watch errors (410 Expired) as an ERROR frame.
                batch.append(frame("ERROR", err.status()))
                break
            data = _frame(etype, obj, cached, info, table)
            batch.append(data)
            size += len(data)
            count += 1
            if size < WATCH_BATCH_BYTES:
                if events_ready():
                    continue
                wait = written + FLUSH_INTERVAL - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    if events_ready():
                        continue
            sent.inc(count)
            yield b"".join(batch)
            written = loop.time()
            batch, size, count = [], 0, 0
        if batch:
            sent.inc(count)
            yield b"".join(batch)
    finally:
        metrics.watchers.labels(info.resource).dec()
        await events.aclose()
