"""Deployments, ReplicaSets, DaemonSets and Jobs: replica counts, and the wide CONTAINERS / IMAGES / SELECTOR
columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiserver.printers.common import (
    Obj,
    Row,
    age,
    columns,
    condition_true,
    containers_and_images,
    format_labels,
    format_selector,
    human_duration,
    name_of,
    parse_time,
    template_spec,
)

DEPLOYMENT_COLUMNS = columns(
    """
    Name
    Ready: Number of the pod with ready state
    Up-to-date: Total number of non-terminated pods targeted by this deployment that have the desired template spec.
    Available: Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.
    Age
    Containers
    Selector [wide]: Label selector for pods.
"""
)


def deployment_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers_and_images(template_spec(obj))
    desired = spec.get("replicas", 1)
    cells = [
        name_of(obj),
        f"{status.get('readyReplicas', 0)}/{desired}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        age(obj, now),
        names,
        images,
        format_selector(spec.get("selector")),
    ]
    return cells, None


def replica_columns(owner: str, counted: str) -> list[Obj]:
    """The columns of a ReplicaSet and a ReplicationController (the descriptions name the kind's own words)."""
    return columns(
        f"""
    Name
    Desired [integer]: Replicas is the number of desired replicas.
    Current [integer]: Replicas is the most recently observed number of replicas.
    Ready [integer]: The number of ready replicas for this {owner}.
    Age
    Containers
    Selector [wide]: Selector is a label query over pods that should match the {counted} count.
"""
    )


def replica_counts_row(obj: Obj, now: datetime, selector: str) -> Row:
    """A row of `replica_columns`; `selector` is the object's selector as its kind prints it."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers_and_images(template_spec(obj))
    cells = [
        name_of(obj),
        int(spec.get("replicas", 1)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        age(obj, now),
        names,
        images,
        selector,
    ]
    return cells, None


REPLICASET_COLUMNS = replica_columns("replica set", "replica")


def replicaset_row(obj: Obj, now: datetime) -> Row:
    return replica_counts_row(obj, now, format_selector((obj.get("spec") or {}).get("selector")))


DAEMONSET_COLUMNS = columns(
    """
    Name
    Desired [integer]: The total number of nodes that should be running the daemon pod.
    Current [integer]: The number of nodes running at least one daemon pod that are supposed to.
    Ready [integer]: The number of nodes that should be running the daemon pod and have it ready.
    Up-to-date [integer]: The number of nodes running the updated daemon pod.
    Available [integer]: The number of nodes that should be running the daemon pod and have it available.
    Node Selector: NodeSelector is a selector which must be true for the pod to fit on a node.
    Age
    Containers
    Selector [wide]: A label query over pods that are managed by the daemon set.
"""
)


def daemonset_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers_and_images(template_spec(obj))
    counts = ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled")
    cells: list[Any] = [
        name_of(obj),
        *(int(status.get(c, 0)) for c in counts),
        int(status.get("numberAvailable", 0)),
    ]
    cells += [format_labels(template_spec(obj).get("nodeSelector")), age(obj, now), names, images]
    return [*cells, format_selector(spec.get("selector"))], None


JOB_COLUMNS = columns(
    """
    Name
    Status: Status of the job.
    Completions: The number of pods which reached phase Succeeded.
    Duration: Time required to complete the job.
    Age
    Containers
    Selector [wide]: A label query over pods that should match the pod count.
"""
)


def job_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded", 0))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration(((end or now) - start).total_seconds())
    conditions = status.get("conditions") or []
    if condition_true(conditions, "Complete"):
        state = "Complete"
    elif condition_true(conditions, "Failed"):
        state = "Failed"
    elif (obj.get("metadata") or {}).get("deletionTimestamp"):
        state = "Terminating"
    elif condition_true(conditions, "Suspended"):
        state = "Suspended"
    elif condition_true(conditions, "FailureTarget"):
        state = "FailureTarget"
    elif condition_true(conditions, "SuccessCriteriaMet"):
        state = "SuccessCriteriaMet"
    else:
        state = "Running"
    names, images = containers_and_images(template_spec(obj))
    cells = [name_of(obj), state, completions, duration, age(obj, now), names, images]
    return [*cells, format_selector(spec.get("selector"))], None
