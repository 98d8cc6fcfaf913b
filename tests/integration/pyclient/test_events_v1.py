"""events.k8s.io/v1 through the official Python client (EventsV1Api): the same Events as core/v1, two views of
one stored object with upstream's field mapping; list, get, watch, create with that API's own rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.etcd


def _core_event(ns: str) -> client.CoreV1Event:
    now = datetime.now(UTC).replace(microsecond=0)
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="legacy"),
        involved_object=client.V1ObjectReference(kind="Pod", name="web-1", namespace=ns, uid="u-1"),
        reason="Pulled",
        message="Container image pulled",
        type="Normal",
        source=client.V1EventSource(component="kubelet", host="node-1"),
        first_timestamp=now,
        last_timestamp=now,
        # EventsV1Event requires it in the Python client (kube-apiserver writes null when a core Event lacks it).
        event_time=now,
        count=3,
        reporting_component="kubelet",
        reporting_instance="node-1",
    )


def test_core_event_seen_through_events_v1(
    core: client.CoreV1Api, events: client.EventsV1Api, ns: str
) -> None:
    core.create_namespaced_event(ns, _core_event(ns))
    listed = events.list_namespaced_event(ns)
    assert [e.metadata.name for e in listed.items] == ["legacy"]
    ev = events.read_namespaced_event("legacy", ns)
    assert (ev.regarding.kind, ev.regarding.name, ev.regarding.uid) == ("Pod", "web-1", "u-1")
    assert ev.note == "Container image pulled"
    assert ev.reason == "Pulled" and ev.type == "Normal"
    assert (ev.deprecated_source.component, ev.deprecated_source.host) == ("kubelet", "node-1")
    assert ev.deprecated_count == 3
    assert ev.reporting_controller == "kubelet" and ev.reporting_instance == "node-1"
    assert ev.metadata.uid == core.read_namespaced_event("legacy", ns).metadata.uid, "one object, two views"
    # Field selectors use the core labels in both groups.
    selected = events.list_namespaced_event(ns, field_selector="involvedObject.name=web-1")
    assert [e.metadata.name for e in selected.items] == ["legacy"]
    assert events.list_namespaced_event(ns, field_selector="involvedObject.name=other").items == []


def test_events_v1_create_seen_through_core(
    core: client.CoreV1Api, events: client.EventsV1Api, ns: str
) -> None:
    body = client.EventsV1Event(
        metadata=client.V1ObjectMeta(name="modern"),
        event_time=datetime.now(UTC),
        regarding=client.V1ObjectReference(kind="Deployment", name="web", namespace=ns),
        reason="ScalingReplicaSet",
        action="Scale",
        note="Scaled up replica set web-1 to 2",
        type="Normal",
        reporting_controller="deployment-controller",
        reporting_instance="kube-controller-manager-1",
    )
    created = events.create_namespaced_event(ns, body)
    assert created.regarding.name == "web" and created.note.startswith("Scaled up")
    legacy = core.read_namespaced_event("modern", ns)
    assert legacy.involved_object.kind == "Deployment" and legacy.involved_object.name == "web"
    assert legacy.message == "Scaled up replica set web-1 to 2"
    assert legacy.reporting_component == "deployment-controller"
    assert legacy.action == "Scale"

    patched = events.patch_namespaced_event("modern", ns, {"note": "Scaled up replica set web-1 to 3"})
    assert patched.note.endswith("to 3")
    assert core.read_namespaced_event("modern", ns).message.endswith("to 3")


def test_events_v1_create_rules(events: client.EventsV1Api, ns: str) -> None:
    bare = client.EventsV1Event(
        metadata=client.V1ObjectMeta(name="bare"),
        event_time=datetime.now(UTC),
        regarding=client.V1ObjectReference(kind="Pod", name="p", namespace=ns),
        type="Normal",
    )
    with pytest.raises(ApiException) as invalid:
        events.create_namespaced_event(ns, bare)
    assert invalid.value.status == 422
    assert "Event.events.k8s.io" in invalid.value.body
    for field in ("reportingController", "reportingInstance", "action", "reason"):
        assert f"{field}: Required value" in invalid.value.body


def test_watch_events_v1(core: client.CoreV1Api, events: client.EventsV1Api, ns: str) -> None:
    rv = events.list_namespaced_event(ns).metadata.resource_version
    core.create_namespaced_event(ns, _core_event(ns))
    core.delete_namespaced_event("legacy", ns)
    seen = [
        (ev["type"], type(ev["object"]).__name__, ev["object"].metadata.name, ev["object"].note)
        for ev in watch.Watch().stream(
            events.list_namespaced_event, ns, resource_version=rv, timeout_seconds=1
        )
    ]
    assert seen == [
        ("ADDED", "EventsV1Event", "legacy", "Container image pulled"),
        ("DELETED", "EventsV1Event", "legacy", "Container image pulled"),
    ]
