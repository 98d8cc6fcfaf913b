"""The body of a watch response: the watch's events as NDJSON frames, written to the client in as few writes as
the events allow.

What a watch costs the apiserver is paid per write, not per event: every write to a watcher is one pass through
the ASGI layers, one TLS record and one send(2), and with 100 watchers each write happens 100 times. So:

* an event from the watch cache is serialized once for every watcher (`CacheEvent.encoded()`, as kube-apiserver's
  cachingObject does); only a watch whose event differs (a Table, a selector turning MODIFIED into ADDED or
  DELETED, a converted version, a BOOKMARK) encodes its own frame;
* every event that is ready when one is sent goes in the same write (`events_ready()`), up to WATCH_BATCH_BYTES;
* a busy watch, one whose events came faster than BUSY_EVENTS per FLUSH_INTERVAL over the last RATE_WINDOW
  (more than 40 a second at 50 ms), writes at most once per FLUSH_INTERVAL: the next write waits until that much
  time has passed since the last one and takes every event that arrived meanwhile (`Pacer`). Any other watch
  writes each event at once, so a watch of a few events a second is not delayed at all; batching pays only where
  writes are many. Informers of a busy watch lag by up to FLUSH_INTERVAL, which controllers must be correct
  against (as against any lagging watch): the Job controller waits for its own status writes to show in its
  cache (controller_manager.job_tracking.StatusWrites), and tests/integration/workloads/test_job_lagging_watch.py
  runs it at 0.4 s. `--watch-flush-interval` sets the interval.

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
BUSY_EVENTS = 2  # a watch is busy while more events than this come per FLUSH_INTERVAL, on average
RATE_WINDOW = 1.0  # seconds over which a watch's event rate is measured


class Pacer:
    """When a watch may write next: at once while it is quiet, FLUSH_INTERVAL after its last write while it is
    busy (its events of the last RATE_WINDOW came faster than BUSY_EVENTS per FLUSH_INTERVAL). Times are the
    loop's."""

    def __init__(self, now: float) -> None:
        self.written = float("-inf")  # when the last write was made
        self.window_start = now
        self.events = 0  # events written since window_start
        self.busy = BUSY_EVENTS <= 0  # 0: every watch is busy (tests that need informers to lag)

    def wait(self, now: float) -> float:
        """Seconds to wait before the next write (<= 0: none)."""
        return self.written + FLUSH_INTERVAL - now if self.busy else 0.0

    def wrote(self, now: float, events: int) -> None:
        self.written = now
        self.events += events
        span = now - self.window_start
        if span >= RATE_WINDOW:
            self.busy = FLUSH_INTERVAL > 0 and self.events * FLUSH_INTERVAL > BUSY_EVENTS * span
            self.window_start, self.events = now, 0


def set_flush_interval(seconds: float) -> None:
    """The apiserver's --watch-flush-interval (tests raise it to make informers lag)."""
    global FLUSH_INTERVAL
    if not 0.0 <= seconds <= 10.0:
        raise ValueError(f"watch flush interval {seconds} s: must lie in [0, 10]")
    FLUSH_INTERVAL = seconds


def set_busy_events(events: int) -> None:
    """The apiserver's --watch-busy-events (0: every watch batches; tests set it to make every informer lag)."""
    global BUSY_EVENTS
    if events < 0:
        raise ValueError(f"watch busy events {events}: must be >= 0")
    BUSY_EVENTS = events


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
    pacer = Pacer(loop.time())
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
                wait = pacer.wait(loop.time())
                if wait > 0:
                    await asyncio.sleep(wait)
                    if events_ready():
                        continue
            sent.inc(count)
            yield b"".join(batch)
            pacer.wrote(loop.time(), count)
            batch, size, count = [], 0, 0
        if batch:
            sent.inc(count)
            yield b"".join(batch)
    finally:
        metrics.watchers.labels(info.resource).dec()
        await events.aclose()
