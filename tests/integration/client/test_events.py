"""EventRecorder against a real apiserver: created Events, repeats folded into a count, never raising."""

from __future__ import annotations

import pytest

from apimachinery.client import Client
from apimachinery.events import EventRecorder
from tests.factories import configmap
from tests.harness import free_port
from tests.resources import CONFIGMAPS, EVENTS, NAMESPACES

pytestmark = pytest.mark.etcd


async def test_event_created_and_repeats_counted(client: Client, namespace: str) -> None:
    cm = await client.create(CONFIGMAPS, configmap("subject"), namespace)
    recorder = EventRecorder(client, "test-controller", host="node-1")
    try:
        recorder.event(cm, "Normal", "Synced", "synced ok")
        recorder.event(cm, "Normal", "Synced", "synced ok")
        recorder.event(cm, "Warning", "Failed", "it broke")
        await recorder.flush()
    finally:
        await recorder.aclose()
    assert recorder.written == 3

    events = await client.list(
        EVENTS,
        namespace,
        field_selector=f"involvedObject.name=subject,involvedObject.uid={cm['metadata']['uid']}",
    )
    by_reason = {e["reason"]: e for e in events["items"]}
    assert set(by_reason) == {"Synced", "Failed"}
    synced = by_reason["Synced"]
    assert synced["count"] == 2
    assert synced["type"] == "Normal" and synced["message"] == "synced ok"
    assert synced["metadata"]["name"].startswith("subject.")
    assert synced["source"] == {"component": "test-controller", "host": "node-1"}
    assert synced["reportingComponent"] == "test-controller"
    assert synced["firstTimestamp"] and synced["lastTimestamp"] >= synced["firstTimestamp"]
    ref = synced["involvedObject"]
    assert ref["kind"] == "ConfigMap" and ref["apiVersion"] == "v1"
    assert (ref["namespace"], ref["name"], ref["uid"]) == (namespace, "subject", cm["metadata"]["uid"])
    assert ref["resourceVersion"] == cm["metadata"]["resourceVersion"]
    assert by_reason["Failed"]["count"] == 1 and by_reason["Failed"]["type"] == "Warning"


async def test_cluster_scoped_object_goes_to_default(client: Client, namespace: str) -> None:
    ns_obj = await client.get(NAMESPACES, namespace)
    recorder = EventRecorder(client, "test-controller")
    try:
        recorder.event(ns_obj, "Normal", "Seen", f"saw {namespace}")
        await recorder.flush()
    finally:
        await recorder.aclose()
    events = await client.list(EVENTS, "default", field_selector=f"involvedObject.name={namespace}")
    assert [e["reason"] for e in events["items"]] == ["Seen"]


async def test_unreachable_server_never_raises() -> None:
    async with Client(f"http://127.0.0.1:{free_port()}") as c:
        recorder = EventRecorder(c, "x", queue_size=2)
        obj = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "default"}}
        for i in range(5):
            recorder.event(obj, "Normal", "R", f"m{i}")  # the queue holds 2; the rest are dropped, silently
        await recorder.flush()
        await recorder.aclose()
        assert recorder.written == 0
        assert recorder.dropped >= 2
