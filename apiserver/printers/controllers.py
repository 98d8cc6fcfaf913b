"""StatefulSets, ReplicationControllers, CronJobs and ControllerRevisions: kubectl's columns for each."""

from __future__ import annotations

from datetime import datetime

from apiserver.printers.common import (
    Obj,
    Row,
    age,
    column,
    columns,
    containers_and_images,
    format_labels,
    format_selector,
    name_of,
    since,
    template_spec,
)
from apiserver.printers.workloads import replica_columns, replica_counts_row

STATEFULSET_COLUMNS = columns(
    """
    Name
    Ready: Number of the pod with ready state
    Age
    Containers
"""
)


def statefulset_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers_and_images(template_spec(obj))
    ready = f"{int(status.get('readyReplicas', 0))}/{int(spec.get('replicas', 1))}"
    return [name_of(obj), ready, age(obj, now), names, images], None


REPLICATIONCONTROLLER_COLUMNS = replica_columns("replication controller", "Replicas")


def replication_controller_row(obj: Obj, now: datetime) -> Row:
    return replica_counts_row(obj, now, format_labels((obj.get("spec") or {}).get("selector")))


CRONJOB_COLUMNS = columns(
    """
    Name
    Schedule: The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.
    Timezone: The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.
    Suspend: This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.
    Active [integer]: A list of pointers to currently running jobs.
    Last Schedule: Information when was the last time the job was successfully scheduled.
    Age
    Containers
    Selector [wide]: A label query over pods that should match the pod count.
"""
)


def cronjob_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = containers_and_images((job_spec.get("template") or {}).get("spec") or {})
    last = status.get("lastScheduleTime")
    cells = [
        name_of(obj),
        str(spec.get("schedule", "")),
        spec.get("timeZone") or "<none>",
        "True" if spec.get("suspend") else "False",
        len(status.get("active") or []),
        since(last, now) if last else "<none>",
        age(obj, now),
        names,
        images,
        format_selector(job_spec.get("selector")),
    ]
    return cells, None


CONTROLLERREVISION_COLUMNS = [
    *columns("Name"),
    column("Controller", "Controller of the object with link to controller."),
    column("Revision", "Revision is the revision number", type_="number"),
    *columns("Age"),
]


def controller_revision_row(obj: Obj, now: datetime) -> Row:
    controller = "<none>"
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion") or "").rpartition("/")[0]
            kind = str(ref.get("kind") or "").lower()
            controller = f"{kind}.{group}/{ref.get('name')}" if group else f"{kind}/{ref.get('name')}"
            break
    return [name_of(obj), controller, int(obj.get("revision") or 0), age(obj, now)], None
