"""describe text for Jobs, CronJobs, DaemonSets, StatefulSets and ReplicationControllers, in kubectl's layout
(k8s.io/kubectl/pkg/describe: JobDescriber, CronJobDescriber, DaemonSetDescriber, StatefulSetDescriber,
ReplicationControllerDescriber)."""

from __future__ import annotations

from typing import Any

from cli.describers import (
    Doc,
    controlled_by,
    described,
    events,
    header,
    label_map,
    sections,
    selector_text,
    template_into,
    when,
    when_set,
)

Obj = dict[str, Any]


def _phases(pods: list[Obj]) -> str:
    phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
    return (
        f"{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
        f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed"
    )


def _job_spec(d: Doc, spec: Obj) -> None:
    d.w(0, f"Parallelism:\t{spec.get('parallelism', '<unset>')}\n")
    d.w(0, f"Completions:\t{spec.get('completions', '<unset>')}\n")
    d.w(0, f"Completion Mode:\t{spec.get('completionMode', 'NonIndexed')}\n")
    d.w(0, f"Suspend:\t{str(bool(spec.get('suspend'))).lower()}\n")
    if spec.get("backoffLimit") is not None:
        d.w(0, f"Backoff Limit:\t{spec['backoffLimit']}\n")
    if spec.get("ttlSecondsAfterFinished") is not None:
        d.w(0, f"TTL Seconds After Finished:\t{spec['ttlSecondsAfterFinished']}\n")


@described
def job_text(d: Doc, job: Obj, evs: list[Obj]) -> None:
    meta, spec, status = sections(job)
    header(d, meta, ("Selector", selector_text(spec.get("selector"))))
    controlled_by(d, meta)
    _job_spec(d, spec)
    d.optional(
        0,
        ("Start Time", when_set(status.get("startTime"))),
        ("Completed At", when_set(status.get("completionTime"))),
    )
    if spec.get("activeDeadlineSeconds") is not None:
        d.w(0, f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s\n")
    ready = status.get("ready", 0)
    d.w(
        0,
        f"Pods Statuses:\t{status.get('active', 0)} Active ({ready} Ready) / {status.get('succeeded', 0)} Succeeded"
        f" / {status.get('failed', 0)} Failed\n",
    )
    if spec.get("completionMode") == "Indexed":
        d.w(0, f"Completed Indexes:\t{status.get('completedIndexes') or '<none>'}\n")
    template_into(d, spec.get("template") or {})
    events(d, evs)


@described
def cronjob_text(d: Doc, cj: Obj, evs: list[Obj]) -> None:
    meta, spec, status = sections(cj)
    header(d, meta)
    d.w(0, f"Schedule:\t{spec.get('schedule', '')}\n")
    d.optional(0, ("Time Zone", spec.get("timeZone")))
    d.w(0, f"Concurrency Policy:\t{spec.get('concurrencyPolicy', 'Allow')}\n")
    d.w(0, f"Suspend:\t{'True' if spec.get('suspend') else 'False'}\n")
    for title, key in (
        ("Successful Job History Limit", "successfulJobsHistoryLimit"),
        ("Failed Job History Limit", "failedJobsHistoryLimit"),
    ):
        d.w(0, f"{title}:\t{spec.get(key, '<unset>')}\n")
    deadline = spec.get("startingDeadlineSeconds")
    d.w(0, f"Starting Deadline Seconds:\t{f'{deadline}s' if deadline is not None else '<unset>'}\n")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    d.w(
        0,
        f"Selector:\t{selector_text(job_spec.get('selector')) if job_spec.get('selector') else '<unset>'}\n",
    )
    d.w(0, f"Parallelism:\t{job_spec.get('parallelism', '<unset>')}\n")
    d.w(0, f"Completions:\t{job_spec.get('completions', '<unset>')}\n")
    template_into(d, job_spec.get("template") or {})
    last = status.get("lastScheduleTime")
    d.w(0, f"Last Schedule Time:\t{when(last) if last else '<unset>'}\n")
    active = ", ".join(a.get("name", "") for a in status.get("active") or [])
    d.w(0, f"Active Jobs:\t{active or '<none>'}\n")
    events(d, evs)


@described
def daemonset_text(d: Doc, ds: Obj, pods: list[Obj], evs: list[Obj]) -> None:
    meta, spec, status = sections(ds)
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    header(
        d,
        meta,
        ("Selector", selector_text(spec.get("selector"))),
        ("Node-Selector", label_map(node_selector)),
        namespaced=False,
    )
    for title, key in (
        ("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
        ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
        ("Number of Nodes Scheduled with Up-to-date Pods", "updatedNumberScheduled"),
        ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
        ("Number of Nodes Misscheduled", "numberMisscheduled"),
    ):
        d.w(0, f"{title}: {status.get(key, 0)}\n")
    d.w(0, f"Pods Status:\t{_phases(pods)}\n")
    template_into(d, spec.get("template") or {})
    events(d, evs)


@described
def statefulset_text(d: Doc, sts: Obj, pods: list[Obj], evs: list[Obj]) -> None:
    meta, spec, status = sections(sts)
    header(
        d,
        meta,
        ("CreationTimestamp", when(meta.get("creationTimestamp"))),
        ("Selector", selector_text(spec.get("selector"))),
    )
    d.w(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total\n")
    strategy = spec.get("updateStrategy") or {}
    d.w(0, f"Update Strategy:\t{strategy.get('type', 'RollingUpdate')}\n")
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    if partition is not None:
        d.w(1, f"Partition:\t{partition}\n")
    d.w(0, f"Pods Status:\t{_phases(pods)}\n")
    template_into(d, spec.get("template") or {})
    claims = spec.get("volumeClaimTemplates") or []
    if d.section(0, "Volume Claims", claims):
        for claim in claims:
            cspec = claim.get("spec") or {}
            d.fields(
                1,
                ("Name", (claim.get("metadata") or {}).get("name", "")),
                ("StorageClass", cspec.get("storageClassName", "")),
                ("Capacity", ((cspec.get("resources") or {}).get("requests") or {}).get("storage", "")),
                ("Access Modes", ",".join(cspec.get("accessModes") or [])),
            )
    events(d, evs)


@described
def replication_controller_text(d: Doc, rc: Obj, pods: list[Obj], evs: list[Obj]) -> None:
    meta, spec, status = sections(rc)
    header(d, meta, ("Selector", label_map(spec.get("selector"))))
    d.w(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired\n")
    d.w(0, f"Pods Status:\t{_phases(pods)}\n")
    template_into(d, spec.get("template") or {})
    events(d, evs)
