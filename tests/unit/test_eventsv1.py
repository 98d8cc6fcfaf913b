"""events.k8s.io/v1 <-> core/v1 Event conversion (apiserver/eventsv1.py): upstream's field mapping, both ways."""

from __future__ import annotations

from apiserver.eventsv1 import to_core, to_v1, validate_create

CORE = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "e", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
    "message": "pulled",
    "source": {"component": "kubelet", "host": "n1"},
    "firstTimestamp": "2026-12-05T10:00:00Z",
    "lastTimestamp": "2026-12-05T10:01:00Z",
    "count": 2,
    "reportingComponent": "kubelet",
    "reportingInstance": "n1",
    "reason": "Pulled",
    "type": "Normal",
    "action": "Pull",
    "eventTime": "2026-12-05T10:00:00.000000Z",
    "series": {"count": 2, "lastObservedTime": "2026-12-05T10:01:00.000000Z"},
    "related": {"kind": "Node", "name": "n1"},
}


def test_field_mapping() -> None:
    v1 = to_v1(CORE)
    assert v1["apiVersion"] == "events.k8s.io/v1"
    assert v1["regarding"] == CORE["involvedObject"] and v1["note"] == "pulled"
    assert v1["deprecatedSource"] == CORE["source"] and v1["deprecatedCount"] == 2
    assert v1["deprecatedFirstTimestamp"] == CORE["firstTimestamp"]
    assert v1["deprecatedLastTimestamp"] == CORE["lastTimestamp"]
    assert v1["reportingController"] == "kubelet" and v1["reportingInstance"] == "n1"
    for same in ("reason", "type", "action", "eventTime", "series", "related", "metadata"):
        assert v1[same] == CORE[same]
    assert not {"involvedObject", "message", "source", "count", "reportingComponent"} & set(v1)
    assert to_core(v1) == CORE


def test_unset_event_time_is_null_and_bookmarks_pass() -> None:
    core = {k: v for k, v in CORE.items() if k != "eventTime"}
    assert to_v1(core)["eventTime"] is None
    bookmark = {"metadata": {"resourceVersion": "5"}}
    assert to_v1(bookmark) is bookmark


def test_create_rules() -> None:
    good = {k: v for k, v in to_v1(CORE).items() if not k.startswith("deprecated")}
    assert validate_create(good) == []
    bad = {**to_v1(CORE), "reason": "", "type": "Odd", "note": "x" * 1025}
    fields = [c["field"] for c in validate_create(bad)]
    assert fields == [
        "reason",
        "type",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedCount",
        "deprecatedSource",
        "note",
    ]
