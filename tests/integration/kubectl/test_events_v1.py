"""The real kubectl on events.k8s.io/v1: discovery lists the group, `get events.events.k8s.io` prints the event
columns from the server's Table, and an Event written through one group reads back through the other."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.integration.kubectl.kube import MARKS, Api, Kubectl, table

pytestmark = MARKS


def test_get_events_k8s_io(kubectl: Kubectl, api: Api, ns: str) -> None:
    assert "events.k8s.io/v1" in kubectl("api-versions").split()
    api.create(
        f"/apis/events.k8s.io/v1/namespaces/{ns}/events",
        {
            "metadata": {"name": "scaled"},
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "regarding": {"kind": "Deployment", "name": "web", "namespace": ns},
            "reason": "ScalingReplicaSet",
            "action": "Scale",
            "note": "Scaled up replica set web-1 to 2",
            "type": "Normal",
            "reportingController": "deployment-controller",
            "reportingInstance": "kcm-1",
        },
    )
    rows = table(kubectl("get", "events.v1.events.k8s.io"))
    assert [(r["TYPE"], r["REASON"], r["OBJECT"], r["MESSAGE"]) for r in rows] == [
        ("Normal", "ScalingReplicaSet", "deployment/web", "Scaled up replica set web-1 to 2")
    ]
    as_v1 = json.loads(kubectl("get", "events.v1.events.k8s.io", "scaled", "-o", "json"))
    assert as_v1["apiVersion"] == "events.k8s.io/v1" and as_v1["note"].startswith("Scaled up")
    as_core = json.loads(kubectl("get", "events.v1.", "scaled", "-o", "json"))
    assert as_core["apiVersion"] == "v1" and as_core["message"] == as_v1["note"]
    assert as_core["involvedObject"]["name"] == "web"
