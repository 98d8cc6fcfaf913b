"""kctl with HorizontalPodAutoscalers: `get hpa` in kubectl's columns (TARGETS as `cpu: 12%/50%`) and the
describe page (metrics current / target, behavior, conditions)."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.etcd


def test_get_and_describe_hpa(kctl, api, ns):
    path = f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
    memory = {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}},
    }
    metrics = [factories.cpu_utilization(50), memory]
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    api.post(path, factories.hpa("web", 3, metrics=metrics, behavior=behavior))
    try:
        out = kctl("get", "hpa")
        assert out.code == 0, out
        header, row = out.out.splitlines()
        assert header.split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
        assert "cpu: <unknown>/50%, memory: <unknown>/100Mi" in row and row.startswith("web ")
        api.write_status(f"{path}/web", {
            "currentReplicas": 2, "desiredReplicas": 2,
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12, "averageValue": "12m"}}},
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "10485760"}}},
            ],
            "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                            "message": "recommended size matches current size", "lastTransitionTime": "2026-12-05T19:00:00Z"}],
        })  # fmt: skip
        row = kctl("get", "hpa").out.splitlines()[1]
        assert "cpu: 12%/50%, memory: 10485760/100Mi" in row
        page = kctl("describe", "hpa", "web").out
        assert "Reference:                                             Deployment/web" in page
        assert "resource cpu on pods  (as a percentage of request):  12% (12m) / 50%" in page
        assert "resource memory on pods:                             10485760 / 100Mi" in page
        assert (
            "Stabilization Window: 60 seconds" in page
            and "- Type: Percent  Value: 100  Period: 15 seconds" in page
        )
        assert "Deployment pods:" in page and "2 current / 2 desired" in page
        assert "AbleToScale  True    ReadyForNewScale  recommended size matches current size" in page
    finally:
        api.http.delete(f"{path}/web")
