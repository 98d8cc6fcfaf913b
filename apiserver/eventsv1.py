"""events.k8s.io/v1 Events: a second view of the core/v1 Events, over the same storage and watch cache.

As in kube-apiserver, one Event is stored once (as core/v1) and served in both groups; the field mapping is
upstream's conversion (pkg/apis/events/v1/conversion.go):

    events.k8s.io/v1        core/v1
    regarding               involvedObject
    note                    message
    deprecatedSource        source
    deprecatedFirstTimestamp / deprecatedLastTimestamp / deprecatedCount
                            firstTimestamp / lastTimestamp / count
    reportingController     reportingComponent
    (the rest: eventTime, series, related, action, reason, type, reportingInstance, metadata: the same)

A create through events.k8s.io/v1 is held to that API's stricter rules (ValidateEventCreate for a v1 request):
eventTime, reportingController, reportingInstance, action and reason are required, the deprecated fields must be
unset, the note is at most 1 kB. Field selectors use the core field labels (`involvedObject.name`, ...), as
upstream, since both views select on the one stored object.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from apimachinery import errors
from apimachinery.resources import ResourceInfo
from apimachinery.validation.common import Cause, invalid, required, too_long
from apiserver.registry import Store
from apiserver.registry_types import DeleteOptions, ListOptions
from apiserver.watchcache import CacheEvent

Obj = dict[str, Any]

GROUP = "events.k8s.io"
API_VERSION = "events.k8s.io/v1"
CORE_API_VERSION = "v1"

# events.k8s.io/v1 field -> core/v1 field; fields not named are the same in both.
_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_TO_V1 = {core: v1 for v1, core in _TO_CORE.items()}

NOTE_LIMIT = 1024  # NoteLengthLimit
FIELD_LIMIT = 128  # ReportingInstanceLengthLimit, ActionLengthLimit, ReasonLengthLimit


def _renamed(obj: Obj, names: dict[str, str], api_version: str) -> Obj:
    out: Obj = {}
    for key, value in obj.items():
        out[names.get(key, key)] = value
    out["apiVersion"] = api_version
    return out


def to_core(event: Obj) -> Obj:
    """An events.k8s.io/v1 Event as the core/v1 Event it is stored as."""
    return _renamed(event, _TO_CORE, CORE_API_VERSION)


def to_v1(event: Obj) -> Obj:
    """A stored core/v1 Event as events.k8s.io/v1 shows it."""
    if "metadata" not in event or "kind" not in event:
        return event  # a bookmark
    out = _renamed(event, _TO_V1, API_VERSION)
    out.setdefault("eventTime", None)  # a non-pointer MicroTime upstream: written as null when unset
    return out


def validate_create(event: Obj) -> list[Cause]:
    """What a create through events.k8s.io/v1 must carry beyond the core rules."""
    causes: list[Cause] = []
    if not event.get("eventTime"):
        causes.append(required("eventTime"))
    for name in ("reportingController", "reportingInstance", "action", "reason"):
        value = event.get(name)
        if not value:
            causes.append(required(name))
        elif not isinstance(value, str):
            causes.append(invalid(name, value, "must be a string"))
        elif name != "reportingController" and len(value) > FIELD_LIMIT:
            causes.append(too_long(name, FIELD_LIMIT))
    if event.get("type") not in ("Normal", "Warning"):
        causes.append(invalid("type", "", f"has invalid value: {event.get('type') or ''}"))
    for name in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"):
        if event.get(name):
            causes.append(invalid(name, "", "needs to be unset"))
    source = event.get("deprecatedSource")
    if isinstance(source, dict) and (source.get("component") or source.get("host")):
        causes.append(invalid("deprecatedSource", "", "needs to be unset"))
    note = event.get("note")
    if isinstance(note, str) and len(note) > NOTE_LIMIT:
        causes.append(invalid("note", "", f"can have at most {NOTE_LIMIT} characters"))
    return causes


class EventsV1Store(Store):
    """The events.k8s.io/v1 view: converts on the way in and out, shares the core Events' cache and storage."""

    def __init__(self, info: ResourceInfo, core: Store) -> None:
        super().__init__(info, core.storage, core.cache, core.strategy, prefix=core.prefix)

    async def get(self, namespace: str | None, name: str) -> Obj:
        return to_v1(await super().get(namespace, name))

    async def list(
        self, namespace: str | None, opts: ListOptions
    ) -> tuple[list[Obj], str, str | None, int | None]:
        items, revision, token, remaining = await super().list(namespace, opts)
        return [to_v1(o) for o in items], revision, token, remaining

    def watch(
        self,
        namespace: str | None,
        opts: ListOptions,
        *,
        timeout: float | None,
        bookmarks: bool,
        initial_events: bool | None = None,
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        events = super().watch(
            namespace, opts, timeout=timeout, bookmarks=bookmarks, initial_events=initial_events
        )
        return self._converted(events)

    async def _converted(
        self, events: AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]
    ) -> AsyncGenerator[tuple[str, Obj, CacheEvent | None], None]:
        try:
            async for event_type, obj, _ in events:
                yield event_type, to_v1(obj), None  # the cache's encoded frames are core/v1
        finally:
            await events.aclose()

    async def create(self, namespace: str | None, obj: Obj, **options: Any) -> Obj:
        causes = validate_create(obj)
        if causes:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise errors.invalid(self.info.kind, name, causes, self.info.group)
        return to_v1(await super().create(namespace, to_core(obj), **options))

    async def update(
        self, namespace: str | None, name: str, transform: Callable[[Obj], Obj], **options: Any
    ) -> tuple[Obj, bool]:
        # create_if_missing (server-side apply) makes an events.k8s.io object, which goes through self.create.
        updated, created = await super().update(
            namespace, name, lambda current: to_core(transform(to_v1(current))), **options
        )
        return to_v1(updated), created

    async def delete(
        self, namespace: str | None, name: str, opts: DeleteOptions, **options: Any
    ) -> tuple[Obj, bool]:
        obj, gone = await super().delete(namespace, name, opts, **options)
        return to_v1(obj), gone
