"""APIService validation and defaults (kube-aggregator's rules), its kubectl columns, and kctl top's arithmetic
(kubectl top's: millicores rounded up, MiB rounded down, percentages of allocatable)."""

from __future__ import annotations

from datetime import UTC, datetime

from apimachinery.defaults import apply_defaults
from apimachinery.validation.objects import validate
from apiserver.printers.apiregistration import apiservice_row
from cli.top import node_rows, pod_rows


def _api_service(**spec: object) -> dict:
    base = {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
            "service": {"namespace": "kube-system", "name": "metrics-server"}}  # fmt: skip
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {**base, **spec}}  # fmt: skip


def test_a_valid_apiservice_gets_port_443() -> None:
    obj = _api_service()
    apply_defaults(obj)
    assert obj["spec"]["service"]["port"] == 443
    assert validate(obj) == []


def test_apiservice_rules() -> None:
    causes = validate(_api_service(versionPriority=0, caBundle="!!", insecureSkipTLSVerify=True,
                                   service={"namespace": "Kube_System", "name": "", "port": 443}))  # fmt: skip
    fields = sorted(c["field"] for c in causes)
    assert fields == ["spec.caBundle", "spec.insecureSkipTLSVerify", "spec.service.name", "spec.service.namespace",
                      "spec.versionPriority"]  # fmt: skip
    renamed = apply_defaults(_api_service())
    renamed["metadata"]["name"] = "v1.metrics.k8s.io"
    assert [c["field"] for c in validate(renamed)] == ["metadata.name"]
    old = apply_defaults(_api_service())
    new = apply_defaults(_api_service(group="other.example.com"))
    new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"] = "1"
    assert "spec.group" in [c["field"] for c in validate(new, old)]


def test_apiservice_columns() -> None:
    now = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    obj = _api_service()
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    obj["status"] = {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}
    assert apiservice_row(obj, now)[0] == ["v1beta1.metrics.k8s.io", "kube-system/metrics-server",
                                           "False (MissingEndpoints)", "10m"]  # fmt: skip
    local = {"metadata": {"name": "v1.apps", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {}}
    assert apiservice_row(local, now)[0][1:3] == ["Local", "Unknown"]


def test_top_nodes_and_pods_arithmetic() -> None:
    metrics = [{"metadata": {"name": "vm"}, "usage": {"cpu": "250000001n", "memory": "1048575Ki"}}]
    nodes = {"vm": {"status": {"allocatable": {"cpu": "2", "memory": "4Gi"}}}}
    assert node_rows(metrics, nodes)[1] == ["vm", "251m", "12%", "1023Mi", "24%"]
    pods = [{"metadata": {"name": "web", "namespace": "default"},
             "containers": [{"name": "a", "usage": {"cpu": "1500u", "memory": "2Mi"}},
                            {"name": "b", "usage": {"cpu": "1m", "memory": "1048577"}}]}]  # fmt: skip
    assert pod_rows(pods, all_namespaces=False, containers=False) == [
        ["NAME", "CPU(cores)", "MEMORY(bytes)"], ["web", "3m", "3Mi"]]  # fmt: skip
    assert pod_rows(pods, all_namespaces=True, containers=True)[0] == ["NAMESPACE", "POD", "NAME", "CPU(cores)",
                                                                       "MEMORY(bytes)"]  # fmt: skip
    assert pod_rows(pods, all_namespaces=True, containers=True)[2] == ["default", "web", "b", "1m", "1Mi"]
