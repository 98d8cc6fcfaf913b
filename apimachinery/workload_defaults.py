"""Defaults of the workload kinds: Jobs, CronJobs, DaemonSets, StatefulSets, ReplicationControllers (Kubernetes'
`pkg/apis/batch/v1/defaults.go`, `pkg/apis/apps/v1/defaults.go` and the ReplicationController part of
`pkg/apis/core/v1/defaults.go`). `apimachinery.defaults` registers them, handing in its pod template defaulter.
A value the client set is never overwritten, so defaulting twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

Obj = dict[str, Any]
Defaulter = Callable[[Obj], None]


def _sub(parent: Obj, key: str) -> Obj:
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else {}


def _default(parent: Obj, key: str, value: Any) -> None:
    if parent.get(key) is None or parent.get(key) == "":
        parent[key] = value


def _template(pod_spec: Defaulter, spec: Obj) -> None:
    pod_spec(_sub(_sub(spec, "template"), "spec"))


def _job_spec(pod_spec: Defaulter, spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = spec["parallelism"] = 1
    _default(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        # With a per-index limit the global one is effectively off (MaxInt32), as Kubernetes defaults it.
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    _default(spec, "completionMode", "NonIndexed")
    _default(spec, "suspend", False)
    if spec.get("podFailurePolicy") is None:
        _default(spec, "podReplacementPolicy", "TerminatingOrFailed")
    else:
        _default(spec, "podReplacementPolicy", "Failed")
    _template(pod_spec, spec)


def _job(pod_spec: Defaulter, obj: Obj) -> None:
    _job_spec(pod_spec, _sub(obj, "spec"))


def _cronjob(pod_spec: Defaulter, obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "concurrencyPolicy", "Allow")
    _default(spec, "suspend", False)
    _default(spec, "successfulJobsHistoryLimit", 3)
    _default(spec, "failedJobsHistoryLimit", 1)
    _job_spec(pod_spec, _sub(_sub(spec, "jobTemplate"), "spec"))


def _daemonset(pod_spec: Defaulter, obj: Obj) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    _default(strategy, "type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _default(rolling, "maxUnavailable", 1)
        _default(rolling, "maxSurge", 0)
    _default(spec, "revisionHistoryLimit", 10)
    _template(pod_spec, spec)


def _statefulset(pod_spec: Defaulter, obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        _sub(strategy, "rollingUpdate")
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type") == "RollingUpdate" and isinstance(rolling, dict):
        _default(rolling, "partition", 0)
    retention = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    _default(retention, "whenDeleted", "Retain")
    _default(retention, "whenScaled", "Retain")
    _default(spec, "replicas", 1)
    _default(spec, "revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            _default(_sub(claim, "spec"), "volumeMode", "Filesystem")
            _default(_sub(claim, "status"), "phase", "Pending")
    _template(pod_spec, spec)


def _replication_controller(pod_spec: Defaulter, obj: Obj) -> None:
    spec = _sub(obj, "spec")
    labels = (_sub(_sub(spec, "template"), "metadata")).get("labels")
    if isinstance(labels, dict) and labels:
        # An RC without a selector selects its template's labels, and is labelled with them.
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = _sub(obj, "metadata")
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    _default(spec, "replicas", 1)
    _template(pod_spec, spec)


def defaulters(pod_spec: Defaulter) -> dict[tuple[str, str], Defaulter]:
    """(group, kind) -> defaulter, with `pod_spec` defaulting every pod template's spec."""
    return {
        ("batch", "Job"): partial(_job, pod_spec),
        ("batch", "CronJob"): partial(_cronjob, pod_spec),
        ("apps", "DaemonSet"): partial(_daemonset, pod_spec),
        ("apps", "StatefulSet"): partial(_statefulset, pod_spec),
        ("", "ReplicationController"): partial(_replication_controller, pod_spec),
    }
