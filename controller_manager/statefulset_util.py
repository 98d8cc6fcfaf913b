"""StatefulSet decisions as pure functions (kubernetes/pkg/controller/statefulset): stable pod identities, which
revision a new pod gets, the next step of scaling or rolling, and the status.

Pods are `<set>-<ordinal>`, with hostname = pod name and subdomain = spec.serviceName, and the labels
`statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and `controller-revision-hash`.

`plan` walks the ordinals as Kubernetes' updateStatefulSet does and stops where it would wait: with the
OrderedReady policy a step is one pod (created in ordinal order, each only after its predecessors are Running and
Ready, removed in reverse order); with Parallel all creations and deletions go at once. A rolling update replaces
the pod with the highest ordinal not at the update revision, down to `partition`, one at a time.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime

from apimachinery.workloads import CONTROLLER_REVISION_HASH, POD_INDEX_LABEL, STATEFULSET_POD_NAME
from controller_manager.podutil import (
    Obj,
    controller_reference,
    is_pod_available,
    is_pod_ready,
    is_terminating,
    meta,
)

_ORDINAL = re.compile(r"(.*)-([0-9]+)")


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    """The ordinal of `<set_name>-<n>`; None for a name that is not a member's."""
    m = _ORDINAL.fullmatch(pod_name)
    if m is None or m.group(1) != set_name:
        return None
    return int(m.group(2))


def start_ordinal(sts: Obj) -> int:
    return int((((sts.get("spec") or {}).get("ordinals") or {}).get("start")) or 0)


def replicas_of(sts: Obj) -> int:
    value = (sts.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def partition_of(sts: Obj) -> int | None:
    """The rolling update's partition, or None for OnDelete."""
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return int(((strategy.get("rollingUpdate") or {}).get("partition")) or 0)


def template_of(revision: Obj) -> Obj:
    """The pod template a ControllerRevision recorded (its patch without `$patch`)."""
    template = copy.deepcopy((((revision.get("data") or {}).get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


def revision_hash(revision: Obj) -> str:
    return str((meta(revision).get("labels") or {}).get(CONTROLLER_REVISION_HASH, ""))


def pod_revision(pod: Obj) -> str:
    return str((meta(pod).get("labels") or {}).get(CONTROLLER_REVISION_HASH, ""))


def identity_labels(sts: Obj, ordinal: int) -> dict[str, str]:
    name = f"{meta(sts)['name']}-{ordinal}"
    return {STATEFULSET_POD_NAME: name, POD_INDEX_LABEL: str(ordinal)}


def new_pod(sts: Obj, revision: Obj, ordinal: int) -> Obj:
    """The member `<set>-<ordinal>` made from `revision`'s template, owned by the set."""
    m = meta(sts)
    template = template_of(revision)
    tmeta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    name = f"{m['name']}-{ordinal}"
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    claims = [c for c in (sts.get("spec") or {}).get("volumeClaimTemplates") or [] if isinstance(c, dict)]
    if claims:
        # As Kubernetes does: a volume per claim template, on the claim `<template>-<set>-<ordinal>` (the
        # controller creates the claims before the pod).
        names = {str(meta(c).get("name")) for c in claims}
        volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in names]
        for claim in names:
            volumes.append({"name": claim, "persistentVolumeClaim": {"claimName": f"{claim}-{name}"}})
        spec["volumes"] = sorted(volumes, key=lambda v: str(v.get("name")))
    labels = {**(tmeta.get("labels") or {}), **identity_labels(sts, ordinal)}
    labels[CONTROLLER_REVISION_HASH] = revision_hash(revision)
    pod_meta: Obj = {
        "name": name,
        "namespace": m.get("namespace"),
        "labels": labels,
        "ownerReferences": [controller_reference(sts, "apps/v1", "StatefulSet")],
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def claim_names(sts: Obj, ordinal: int) -> list[str]:
    """The PersistentVolumeClaims member `ordinal` would use (`<template>-<set>-<ordinal>`)."""
    name = f"{meta(sts)['name']}-{ordinal}"
    return [
        f"{meta(c).get('name')}-{name}" for c in (sts.get("spec") or {}).get("volumeClaimTemplates") or []
    ]


def new_claims(sts: Obj, ordinal: int) -> list[Obj]:
    """The claims of member `ordinal`, from the volumeClaimTemplates: the template's spec, its labels plus the
    set's matchLabels, named `<template>-<set>-<ordinal>` in the set's namespace."""
    selector = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    out = []
    for template, name in zip(
        (sts.get("spec") or {}).get("volumeClaimTemplates") or [], claim_names(sts, ordinal), strict=True
    ):
        tmeta = meta(template)
        claim_meta: Obj = {"name": name, "labels": {**(tmeta.get("labels") or {}), **selector}}
        if tmeta.get("annotations"):
            claim_meta["annotations"] = dict(tmeta["annotations"])
        spec = copy.deepcopy(template.get("spec") or {})
        out.append(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": claim_meta, "spec": spec}
        )
    return out


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def is_healthy(pod: Obj, min_ready: int, at: datetime) -> bool:
    """Running, Ready (for minReadySeconds) and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase == "Running" and is_pod_available(pod, min_ready, at) and not is_terminating(pod)


def _running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_ready(pod)


@dataclass
class Step:
    """What to do now: pods to create (objects), to delete, and members whose identity labels to fix."""

    create: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    relabel: list[Obj] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.create or self.delete or self.relabel)


def _wants_identity(sts: Obj, pod: Obj, ordinal: int) -> bool:
    labels = meta(pod).get("labels") or {}
    return any(labels.get(k) != v for k, v in identity_labels(sts, ordinal).items())


def plan(sts: Obj, pods: list[Obj], current: Obj, update: Obj, at: datetime) -> Step:
    """The next step for `sts` whose members are `pods`; `current` and `update` are its two revisions."""
    step = Step()
    spec = sts.get("spec") or {}
    monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    min_ready = int(spec.get("minReadySeconds") or 0)
    start, count = start_ordinal(sts), replicas_of(sts)
    partition = partition_of(sts)
    name = str(meta(sts)["name"])
    slots: dict[int, Obj] = {}
    condemned: list[tuple[int, Obj]] = []
    for pod in pods:
        ordinal = ordinal_of(name, str(meta(pod).get("name")))
        if ordinal is None:
            continue
        if start <= ordinal < start + count:
            slots[ordinal] = pod
        else:
            condemned.append((ordinal, pod))
    condemned.sort(key=lambda item: -item[0])
    for ordinal in range(start, start + count):
        member = slots.get(ordinal)
        if member is None:
            at_current = partition is not None and ordinal < start + partition
            step.create.append(new_pod(sts, current if at_current else update, ordinal))
            if monotonic:
                return step
            continue
        if _finished(member):
            step.delete.append(member)  # recreated once it is gone
            if monotonic:
                return step
            continue
        if monotonic and (is_terminating(member) or not is_healthy(member, min_ready, at)):
            return step
        if _wants_identity(sts, member, ordinal):
            step.relabel.append(member)
    first_unhealthy = next((p for _, p in condemned if not is_healthy(p, min_ready, at)), None)
    for _, pod in condemned:
        if is_terminating(pod):
            if monotonic:
                return step
            continue
        if monotonic and not is_healthy(pod, min_ready, at) and pod is not first_unhealthy:
            return step
        step.delete.append(pod)
        if monotonic:
            return step
    if partition is None:  # OnDelete: pods move to the update revision when the user deletes them
        return step
    update_hash = revision_hash(update)
    for ordinal in range(start + count - 1, start + partition - 1, -1):
        target = slots.get(ordinal)
        if target is None or target in step.delete:
            return step
        if pod_revision(target) != update_hash and not is_terminating(target):
            step.delete.append(target)
            return step
        if not is_healthy(target, min_ready, at):
            return step
    return step


def compute_status(sts: Obj, pods: list[Obj], current: Obj, update: Obj, at: datetime) -> Obj:
    """replicas, ready/available/current/updated counts, the two revisions, and rolling update completion."""
    min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
    current_hash, update_hash = revision_hash(current), revision_hash(update)
    replicas = ready = available = at_current = at_update = 0
    for pod in pods:
        replicas += 1
        if _running_and_ready(pod):
            ready += 1
            available += is_pod_available(pod, min_ready, at)
        if not is_terminating(pod) and (pod.get("status") or {}).get("phase"):
            at_current += pod_revision(pod) == current_hash
            at_update += pod_revision(pod) == update_hash
    status: Obj = {
        "observedGeneration": meta(sts).get("generation", 0),
        "replicas": replicas,
        "readyReplicas": ready,
        "currentReplicas": at_current,
        "updatedReplicas": at_update,
        "currentRevision": meta(current)["name"],
        "updateRevision": meta(update)["name"],
        "availableReplicas": available,
    }
    old = sts.get("status") or {}
    status["collisionCount"] = int(old.get("collisionCount") or 0)
    if partition_of(sts) is not None and at_update == replicas and ready == replicas:
        status["currentReplicas"] = at_update
        status["currentRevision"] = status["updateRevision"]
    return status
