"""ReplicaSet decisions as pure functions: status, which pods to delete, batch sizes, the pod to create."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from controller_manager.podutil import (
    Obj,
    controller_reference,
    deletion_rank,
    is_pod_available,
    is_pod_ready,
    parse_time,
)

BURST_REPLICAS = 500  # at most this many creates or deletes per sync (Kubernetes' BurstReplicas)


def compute_status(rs: Obj, pods: list[Obj], at: datetime) -> Obj:
    """replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration for `pods`.

    `pods` are the active pods the ReplicaSet owns. Existing conditions are kept.
    """
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully_labeled = ready = available = 0
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully_labeled += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, at):
                available += 1
    status: Obj = {
        "replicas": len(pods),
        "fullyLabeledReplicas": fully_labeled,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": (rs.get("metadata") or {}).get("generation", 0),
    }
    conditions = (rs.get("status") or {}).get("conditions")
    if conditions:
        status["conditions"] = copy.deepcopy(conditions)
    return status


def next_availability_check(rs: Obj, pods: list[Obj], at: datetime) -> float | None:
    """Seconds until the next ready-but-not-yet-available pod becomes available (minReadySeconds), or None."""
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    if min_ready <= 0:
        return None
    waits = []
    for pod in pods:
        if not is_pod_ready(pod) or is_pod_available(pod, min_ready, at):
            continue
        cond = next(c for c in pod["status"]["conditions"] if c.get("type") == "Ready")
        since = parse_time(cond.get("lastTransitionTime"))
        if since:
            waits.append((since + timedelta(seconds=min_ready) - at).total_seconds())
    return max(0.0, min(waits)) + 0.5 if waits else None


def pods_to_delete(pods: list[Obj], count: int) -> list[Obj]:
    """The `count` pods to remove first: unassigned, pending, unready, restarting, newest (see deletion_rank)."""
    return sorted(pods, key=deletion_rank)[:count]


def slow_start_batches(total: int, initial: int = 1) -> Iterator[int]:
    """Batch sizes 1, 2, 4, 8, ... summing to `total`, so a failing create (quota, webhook) fails cheaply."""
    remaining, size = total, min(initial, total)
    while remaining > 0:
        yield size
        remaining -= size
        size = min(2 * size, remaining)


def pod_from_template(rs: Obj) -> Obj:
    """The pod a ReplicaSet (or ReplicationController: its `kind`) creates: its template, generateName `<rs>-`,
    owned by it (controller, blocking)."""
    meta = rs["metadata"]
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    pod_meta: Obj = {
        "generateName": f"{meta['name']}-",
        "namespace": meta.get("namespace"),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [
            controller_reference(rs, rs.get("apiVersion") or "apps/v1", rs.get("kind") or "ReplicaSet")
        ],
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        pod_meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}}


def classify_pods(
    owner: Obj, pods: list[Obj], selector: Callable[[dict[str, str]], bool]
) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """Split pods into (owned, to_adopt, to_release) for `owner` (Kubernetes' ClaimPods, without the writes).

    Owned: our controllerRef and matching. To release: our controllerRef but no longer matching. To adopt: no
    controllerRef, matching, not being deleted, and only while the owner itself is not being deleted.
    """
    uid = owner["metadata"]["uid"]
    owner_deleting = bool(owner["metadata"].get("deletionTimestamp"))
    owned, adopt, release = [], [], []
    for pod in pods:
        m = pod.get("metadata") or {}
        ref = next((r for r in m.get("ownerReferences") or [] if r.get("controller")), None)
        match = selector(m.get("labels") or {})
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if match:
                owned.append(pod)
            elif not owner_deleting:
                release.append(pod)
            continue
        if match and not owner_deleting and not m.get("deletionTimestamp"):
            adopt.append(pod)
    return owned, adopt, release


def owner_refs_without(obj: Obj, uid: str) -> list[Obj]:
    return [r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid") != uid]


def owner_refs_with_controller(obj: Obj, owner: Obj) -> list[Obj]:
    ref = controller_reference(owner, owner.get("apiVersion", "apps/v1"), owner.get("kind", "ReplicaSet"))
    return [*owner_refs_without(obj, owner["metadata"]["uid"]), ref]
