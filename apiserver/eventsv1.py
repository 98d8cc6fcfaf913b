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

from typing import Any

from apimachinery import errors
from apimachinery.validation.common import Cause, invalid, required, too_long
from apiserver.views import ConvertingStore

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


class EventsV1Store(ConvertingStore):
    """The events.k8s.io/v1 view: converts on the way in and out, shares the core Events' cache and storage."""

    def to_view(self, obj: Obj) -> Obj:
        return to_v1(obj)

    def to_stored(self, obj: Obj) -> Obj:
        return to_core(obj)

    def check_create(self, obj: Obj) -> None:
        causes = validate_create(obj)
        if causes:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise errors.invalid(self.info.kind, name, causes, self.info.group)
