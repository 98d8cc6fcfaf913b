"""Small builders for Deployment, ReplicaSet and Pod dicts in unit tests."""

from __future__ import annotations

from typing import Any

from tests.factories import Obj


def deployment(
    replicas: int = 10,
    surge: int | str | None = "25%",
    unavailable: int | str | None = "25%",
    *,
    strategy: str = "RollingUpdate",
    generation: int = 1,
    status: Obj | None = None,
    **spec: Any,
) -> Obj:
    strat: Obj = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": generation},
        "spec": {
            "replicas": replicas,
            "strategy": strat,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "a"}]},
            },
            **spec,
        },
        "status": status or {},
    }


def rs(
    name: str,
    replicas: int,
    available: int | None = None,
    *,
    created: str = "2026-01-01T00:00:00Z",
    revision: int | None = None,
    status_replicas: int | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    ann = dict(annotations or {})
    if revision is not None:
        ann["deployment.kubernetes.io/revision"] = str(revision)
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "annotations": ann,
            "generation": 1,
            "uid": name,
        },
        "spec": {"replicas": replicas},
        "status": {
            "replicas": replicas if status_replicas is None else status_replicas,
            "availableReplicas": replicas if available is None else available,
            "readyReplicas": replicas if available is None else available,
            "observedGeneration": 1,
        },
    }


def pod(
    name: str,
    *,
    phase: str = "Running",
    node: str | None = "n1",
    ready: bool = True,
    ready_since: str = "2026-01-01T00:00:00Z",
    restarts: int = 0,
    created: str = "2026-01-01T00:00:00Z",
    labels: dict[str, str] | None = None,
    ip: str | None = "10.244.0.2",
    owner_uid: str | None = None,
    ports: list[Obj] | None = None,
) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}", "creationTimestamp": created}
    meta["labels"] = labels if labels is not None else {"app": "web"}
    if owner_uid:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "x", "uid": owner_uid, "controller": True}]
    spec: Obj = {"containers": [{"name": "c", "image": "a", "ports": ports or []}]}
    if node:
        spec["nodeName"] = node
    status: Obj = {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_since}
        ],
        "containerStatuses": [{"name": "c", "restartCount": restarts}],
    }
    if ip:
        status["podIP"] = ip
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}
