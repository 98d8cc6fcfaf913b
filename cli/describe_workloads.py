"""describe text for Jobs, CronJobs, DaemonSets, StatefulSets and ReplicationControllers, in kubectl's layout
(k8s.io/kubectl/pkg/describe: JobDescriber, CronJobDescriber, DaemonSetDescriber, StatefulSetDescriber,
ReplicationControllerDescriber)."""

from __future__ import annotations

from typing import Any

from cli.describers import (
    Doc,
    annotation_lines,
    controlled_by,
    events,
    label_lines,
    selector_text,
    template_into,
    when,
)

Obj = dict[str, Any]


def _phases(pods: list[Obj]) -> str:
    phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
    return (
        f"{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
        f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed"
    )


def _head(d: Doc, meta: Obj, *, namespace: bool = True) -> None:
    d.w(0, f"Name:\t{meta['name']}\n")
    if namespace:
        d.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")


def _job_spec(d: Doc, spec: Obj) -> None:
    d.w(0, f"Parallelism:\t{spec.get('parallelism', '<unset>')}\n")
    d.w(0, f"Completions:\t{spec.get('completions', '<unset>')}\n")
    d.w(0, f"Completion Mode:\t{spec.get('completionMode', 'NonIndexed')}\n")
    d.w(0, f"Suspend:\t{str(bool(spec.get('suspend'))).lower()}\n")
    if spec.get("backoffLimit") is not None:
        d.w(0, f"Backoff Limit:\t{spec['backoffLimit']}\n")
    if spec.get("ttlSecondsAfterFinished") is not None:
        d.w(0, f"TTL Seconds After Finished:\t{spec['ttlSecondsAfterFinished']}\n")


def job_text(job: Obj, evs: list[Obj]) -> str:
    meta, spec, status = job["metadata"], job.get("spec") or {}, job.get("status") or {}
    d = Doc()
    _head(d, meta)
    d.w(0, f"Selector:\t{selector_text(spec.get('selector'))}\n")
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    controlled_by(d, meta)
    _job_spec(d, spec)
    if status.get("startTime"):
        d.w(0, f"Start Time:\t{when(status['startTime'])}\n")
    if status.get("completionTime"):
        d.w(0, f"Completed At:\t{when(status['completionTime'])}\n")
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
    return d.text()


def cronjob_text(cj: Obj, evs: list[Obj]) -> str:
    meta, spec, status = cj["metadata"], cj.get("spec") or {}, cj.get("status") or {}
    d = Doc()
    _head(d, meta)
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    d.w(0, f"Schedule:\t{spec.get('schedule', '')}\n")
    if spec.get("timeZone"):
        d.w(0, f"Time Zone:\t{spec['timeZone']}\n")
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
    return d.text()


def daemonset_text(ds: Obj, pods: list[Obj], evs: list[Obj]) -> str:
    meta, spec, status = ds["metadata"], ds.get("spec") or {}, ds.get("status") or {}
    d = Doc()
    _head(d, meta, namespace=False)
    d.w(0, f"Selector:\t{selector_text(spec.get('selector'))}\n")
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    d.w(0, f"Node-Selector:\t{','.join(f'{k}={v}' for k, v in sorted(node_selector.items())) or '<none>'}\n")
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
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
    return d.text()


def statefulset_text(sts: Obj, pods: list[Obj], evs: list[Obj]) -> str:
    meta, spec, status = sts["metadata"], sts.get("spec") or {}, sts.get("status") or {}
    d = Doc()
    _head(d, meta)
    d.w(0, f"CreationTimestamp:\t{when(meta.get('creationTimestamp'))}\n")
    d.w(0, f"Selector:\t{selector_text(spec.get('selector'))}\n")
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    d.w(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total\n")
    strategy = spec.get("updateStrategy") or {}
    d.w(0, f"Update Strategy:\t{strategy.get('type', 'RollingUpdate')}\n")
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    if partition is not None:
        d.w(1, f"Partition:\t{partition}\n")
    d.w(0, f"Pods Status:\t{_phases(pods)}\n")
    template_into(d, spec.get("template") or {})
    claims = spec.get("volumeClaimTemplates") or []
    if not claims:
        d.w(0, "Volume Claims:\t<none>\n")
    else:
        d.w(0, "Volume Claims:\n")
        for claim in claims:
            cspec = claim.get("spec") or {}
            d.w(1, f"Name:\t{(claim.get('metadata') or {}).get('name', '')}\n")
            d.w(1, f"StorageClass:\t{cspec.get('storageClassName', '')}\n")
            d.w(
                1, f"Capacity:\t{((cspec.get('resources') or {}).get('requests') or {}).get('storage', '')}\n"
            )
            d.w(1, f"Access Modes:\t{','.join(cspec.get('accessModes') or [])}\n")
    events(d, evs)
    return d.text()


def replication_controller_text(rc: Obj, pods: list[Obj], evs: list[Obj]) -> str:
    meta, spec, status = rc["metadata"], rc.get("spec") or {}, rc.get("status") or {}
    d = Doc()
    _head(d, meta)
    selector = spec.get("selector") or {}
    d.w(0, f"Selector:\t{','.join(f'{k}={v}' for k, v in sorted(selector.items())) or '<none>'}\n")
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    d.w(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired\n")
    d.w(0, f"Pods Status:\t{_phases(pods)}\n")
    template_into(d, spec.get("template") or {})
    events(d, evs)
    return d.text()
