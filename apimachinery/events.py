"""Recording core/v1 Events about objects, fire-and-forget (what `kubectl describe` shows).

`EventRecorder.event(obj, type, reason, message)` returns at once and never raises: the Event is written by a
background task from a bounded queue (when the queue is full, new events are dropped and counted). A repeat of
the same involvedObject + type + reason + message within the recorder's memory is folded into the existing Event
by patching `count` and `lastTimestamp`, as client-go's EventCorrelator does.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import OrderedDict
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_not_found
from apimachinery.resources import ResourceInfo, by_resource
from apimachinery.tasks import cancel_and_wait
from apimachinery.timefmt import now_rfc3339
from apimachinery.validation import is_dns1123_subdomain

log = logging.getLogger(__name__)

_events = by_resource("", "events")
assert _events is not None
EVENTS: ResourceInfo = _events

NORMAL = "Normal"
WARNING = "Warning"
WRITERS = 4
MAX_MESSAGE = 1024
_CACHE_SIZE = 4096


def _now() -> str:
    return now_rfc3339()


def object_reference(obj: dict[str, Any]) -> dict[str, Any]:
    """The involvedObject of an Event about `obj`."""
    meta = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind"),
        "apiVersion": obj.get("apiVersion"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    def __init__(
        self, client: Client, component: str, host: str | None = None, *, queue_size: int = 1000
    ) -> None:
        self.client = client
        self.component = component
        self.host = host or socket.gethostname()
        self.dropped = 0
        self.written = 0
        # One queue per writer; the events about one object and reason always go to the same writer, so repeats
        # are counted in order.
        self._queues: list[asyncio.Queue[tuple[dict[str, Any], str, str, str, str]]] = [
            asyncio.Queue(max(1, queue_size // WRITERS)) for _ in range(WRITERS)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        # (ref key, type, reason, message) -> (namespace, event name, count)
        self._seen: OrderedDict[tuple[Any, ...], tuple[str, str, int]] = OrderedDict()

    def event(
        self, obj: dict[str, Any], type: str, reason: str, message: str, *, at: str | None = None
    ) -> None:
        """Record an Event about `obj` (a dict with kind, apiVersion, metadata), which happened `at` (RFC 3339;
        now when not given). Never raises."""
        try:
            ref = object_reference(obj)
            if not self._tasks or any(t.done() for t in self._tasks):
                # A few writers: one at a time could not keep up with a scheduler binding hundreds of pods a second.
                loop = asyncio.get_running_loop()
                for task in self._tasks:
                    task.cancel()
                self._tasks = [
                    loop.create_task(self._run(queue), name=f"events-{self.component}-{i}")
                    for i, queue in enumerate(self._queues)
                ]
            queue = self._queues[hash((ref.get("uid"), ref.get("name"), reason)) % WRITERS]
            queue.put_nowait((ref, type, reason, message[:MAX_MESSAGE], at or _now()))
        except asyncio.QueueFull:
            self.dropped += 1
        except Exception:
            # Recording an event is never worth failing the caller for (e.g. no running loop).
            log.exception("could not queue event", extra={"reason": reason})

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait until every queued event has been written (or dropped after an error). For tests and shutdown."""
        async with asyncio.timeout(timeout):
            for queue in self._queues:
                await queue.join()

    async def aclose(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _run(self, queue: asyncio.Queue[tuple[dict[str, Any], str, str, str, str]]) -> None:
        while True:
            item = await queue.get()
            try:
                await self._write(*item)
                self.written += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Events are best-effort: a failure loses this one event and nothing else.
                log.warning("could not write event", extra={"reason": item[2], "error": repr(exc)})
            finally:
                queue.task_done()

    async def _write(self, ref: dict[str, Any], type: str, reason: str, message: str, stamp: str) -> None:
        namespace = ref.get("namespace") or "default"
        key = (ref.get("uid"), ref.get("kind"), namespace, ref.get("name"), type, reason, message)
        seen = self._seen.get(key)
        if seen is not None:
            ns, name, count = seen
            try:
                await self.client.patch(
                    EVENTS,
                    name,
                    {"count": count + 1, "lastTimestamp": stamp},
                    namespace=ns,
                    patch_type="merge",
                )
                self._remember(key, (ns, name, count + 1))
                return
            except StatusError as err:
                if not is_not_found(err):
                    raise
                # The Event was deleted (TTL or by hand): start a new one.
        base = str(ref.get("name") or "")
        if is_dns1123_subdomain(base) or len(base) > 200:
            # An Event about an object whose name is itself invalid (written past the API) still needs a valid name.
            base = "invalid-name"
        name = f"{base}.{time.time_ns():x}"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type,
            "source": {"component": self.component, "host": self.host},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        await self.client.create(EVENTS, body, namespace)
        self._remember(key, (namespace, name, 1))

    def _remember(self, key: tuple[Any, ...], value: tuple[str, str, int]) -> None:
        self._seen[key] = value
        self._seen.move_to_end(key)
        while len(self._seen) > _CACHE_SIZE:
            self._seen.popitem(last=False)
