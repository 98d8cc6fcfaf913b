"""Validation of the workload kinds: Job, CronJob, DaemonSet, StatefulSet, ReplicationController and
ControllerRevision (Kubernetes' `pkg/apis/batch/validation` and `pkg/apis/apps/validation`, the rules clients
meet; field paths and messages as Kubernetes prints them).

`KINDS` maps (group, kind) to (name check, object check, update check); `objects.validate` looks kinds up there.
It reads fields with `common`'s typed readers and checks pod templates with `pods.validate_pod_spec`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apimachinery import cron
from apimachinery.validation.common import (
    Errs,
    NameCheck,
    Obj,
    _dict,
    _enum,
    _int,
    _map,
    forbidden,
    int_or_percent,
    invalid,
    not_supported,
    required,
    required_string,
    selector_matches,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)
from apimachinery.validation.pods import validate_pod_spec
from apimachinery.validation.syntax import is_dns1123_label, is_dns1123_subdomain

Check = Callable[[Obj, Errs], None]
UpdateCheck = Callable[[Obj, Obj, Errs], None]

IMMUTABLE = "field is immutable"
CRONJOB_NAME_MAX = 52  # the Jobs it creates append "-<minutes since the epoch>" (11 characters) to the name


def _non_negative(parent: Obj, key: str, path: str, errs: Errs, low: int = 0) -> int | None:
    """An integer of at least `low`; unlike `_min` it has no upper bound and returns a too-small value too."""
    value = _int(parent, key, path, errs)
    if value is not None and value < low:
        errs.append(invalid(path, value, f"must be greater than or equal to {low}"))
    return value


def rolling_update(
    spec: Obj, key: str, types: list[str], errs: Errs, *, forbidden_with: str, detail: str = ""
) -> Obj:
    """spec.<key>, an update strategy: its type one of `types`, no rollingUpdate with type `forbidden_with` (the
    cause says `detail`, or kubectl's usual words). Returns the rollingUpdate section ({} when there is none)."""
    path = f"spec.{key}"
    strategy = _map(spec, key, path, errs)
    _enum(strategy, "type", f"{path}.type", types, errs)
    if strategy.get("type") == forbidden_with and strategy.get("rollingUpdate") is not None:
        detail = detail or f"may not be specified when strategy `type` is '{forbidden_with}'"
        errs.append(forbidden(f"{path}.rollingUpdate", detail))
    return _map(strategy, "rollingUpdate", f"{path}.rollingUpdate", errs)


def not_both_zero(
    rolling: Obj, path: str, unavailable: float | None, surge: float | None, errs: Errs
) -> None:
    """A rolling update must be able to move: maxUnavailable and maxSurge may not both be 0."""
    if unavailable == 0 and surge == 0:
        errs.append(
            invalid(
                f"{path}.maxUnavailable",
                rolling.get("maxUnavailable", 0),
                "may not be 0 when `maxSurge` is 0",
            )
        )


def _immutable(new: Obj, old: Obj, path: str, errs: Errs) -> None:
    """`path` (dotted, under the objects' roots) must be the same in `new` and `old`."""
    a: Any = new
    b: Any = old
    for part in path.split("."):
        a, b = _dict(a).get(part), _dict(b).get(part)
    if a != b:
        errs.append(invalid(path, a, IMMUTABLE))


# --- templates ------------------------------------------------------------------------------------------------


def validate_template(
    spec: Obj,
    errs: Errs,
    *,
    selects: Callable[[dict[str, str]], bool] | None,
    restart: list[str],
    kind: str,
    extra_volumes: list[Obj] | None = None,
    restart_optional: bool = False,
) -> None:
    """spec.template: labels the selector selects (when given), a valid pod spec, an allowed restartPolicy
    (required unless `restart_optional`: Deployments and ReplicaSets default it)."""
    if spec.get("template") is None:
        errs.append(required("spec.template", ""))
        return
    template = _map(spec, "template", "spec.template", errs)
    meta = _map(template, "metadata", "spec.template.metadata", errs)
    labels = meta.get("labels")
    validate_labels(labels, "spec.template.metadata.labels", errs)
    validate_annotations(meta.get("annotations"), "spec.template.metadata.annotations", errs)
    if selects is not None and isinstance(labels or {}, dict) and not selects(labels or {}):
        errs.append(
            invalid(
                "spec.template.metadata.labels", labels or {}, "`selector` does not match template `labels`"
            )
        )
    pod_spec = _map(template, "spec", "spec.template.spec", errs)
    if extra_volumes:
        pod_spec = {**pod_spec, "volumes": [*(pod_spec.get("volumes") or []), *extra_volumes]}
    validate_pod_spec(pod_spec, "spec.template.spec", errs)
    policy = pod_spec.get("restartPolicy")
    if policy is None and restart_optional:
        pass
    elif not policy and not restart_optional:
        errs.append(
            required("spec.template.spec.restartPolicy", f"valid values: {', '.join(map(repr, restart))}")
        )
    elif policy not in restart:
        errs.append(not_supported("spec.template.spec.restartPolicy", policy, restart))
    if kind != "Job" and pod_spec.get("activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                f"activeDeadlineSeconds in {kind} is not Supported",
            )
        )


def workload_selector(spec: Obj, errs: Errs, kind: str) -> Callable[[dict[str, str]], bool] | None:
    """spec.selector as a LabelSelector: required and non-empty; the matcher, or None when it is unusable."""
    selector = spec.get("selector")
    if selector is None:
        errs.append(required("spec.selector", ""))
        return None
    if not isinstance(selector, dict):
        errs.append(invalid("spec.selector", selector, "must be an object"))
        return None
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errs.append(invalid("spec.selector", selector, f"empty selector is invalid for {kind.lower()}"))
        return None
    before = len(errs)
    validate_label_selector(selector, "spec.selector", errs)
    if len(errs) > before:
        return None
    return lambda labels: selector_matches(selector, labels)


# --- batch/v1 -------------------------------------------------------------------------------------------------

_JOB_RESTART = ["OnFailure", "Never"]


def _job_spec_fields(spec: Obj, errs: Errs) -> None:
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        _non_negative(spec, key, f"spec.{key}", errs)
    for key in ("backoffLimitPerIndex", "maxFailedIndexes"):
        _non_negative(spec, key, f"spec.{key}", errs)
    _enum(spec, "completionMode", "spec.completionMode", ["NonIndexed", "Indexed"], errs)
    _enum(spec, "podReplacementPolicy", "spec.podReplacementPolicy", ["TerminatingOrFailed", "Failed"], errs)
    if spec.get("completionMode") == "Indexed":
        if spec.get("completions") is None:
            errs.append(required("spec.completions", "when completion mode is Indexed"))
        elif isinstance(spec.get("completions"), int) and spec["completions"] > 100000:
            errs.append(
                invalid("spec.completions", spec["completions"], "must be less than or equal to 100000")
            )
    elif spec.get("backoffLimitPerIndex") is not None:
        errs.append(
            required(
                "spec.completionMode", "when backoffLimitPerIndex is specified, the mode must be Indexed"
            )
        )
    if spec.get("suspend") is not None and not isinstance(spec.get("suspend"), bool):
        errs.append(invalid("spec.suspend", spec["suspend"], "must be a boolean"))


def _validate_job(job: Obj, errs: Errs) -> None:
    spec = _map(job, "spec", "spec", errs)
    _job_spec_fields(spec, errs)
    selects = workload_selector(spec, errs, "Job")
    validate_template(spec, errs, selects=selects, restart=_JOB_RESTART, kind="Job")


def _validate_job_update(new: Obj, old: Obj, errs: Errs) -> None:
    for path in ("spec.selector", "spec.completions", "spec.completionMode", "spec.podFailurePolicy",
                 "spec.backoffLimitPerIndex"):  # fmt: skip
        _immutable(new, old, path, errs)
    new_t = _dict(_dict(new.get("spec")).get("template"))
    old_t = _dict(_dict(old.get("spec")).get("template"))
    if new_t == old_t:
        return
    # Scheduling directives of a Job that is suspended and never ran may change (Kubernetes allows it so that a
    # queueing controller can place the Job before it starts); nothing else in the template may.
    old_spec = _dict(old.get("spec"))
    if old_spec.get("suspend") is True and not _dict(old.get("status")).get("startTime"):
        scheduling = ("nodeSelector", "affinity", "tolerations", "schedulingGates")

        def rest(t: Obj) -> Obj:
            return {**t, "spec": {k: v for k, v in _dict(t.get("spec")).items() if k not in scheduling}}

        if rest(new_t) == rest(old_t):
            return
    errs.append(invalid("spec.template", new_t, IMMUTABLE))


def _validate_cronjob_name(name: str) -> list[str]:
    msgs = is_dns1123_subdomain(name)
    if len(name) > CRONJOB_NAME_MAX:
        msgs.append(f"must be no more than {CRONJOB_NAME_MAX} characters")
    return msgs


def _validate_cronjob(cronjob: Obj, errs: Errs) -> None:
    spec = _map(cronjob, "spec", "spec", errs)
    schedule = required_string(spec, "schedule", "spec.schedule", errs)
    if schedule is not None:
        try:
            cron.parse(schedule)
        except cron.ScheduleError as exc:
            errs.append(invalid("spec.schedule", schedule, str(exc)))
    zone = spec.get("timeZone")
    if zone is not None:
        try:
            cron.time_zone(str(zone))
        except cron.ScheduleError as exc:
            errs.append(invalid("spec.timeZone", zone, str(exc)))
    _enum(spec, "concurrencyPolicy", "spec.concurrencyPolicy", ["Allow", "Forbid", "Replace"], errs)
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        _non_negative(spec, key, f"spec.{key}", errs)
    job_template = _map(spec, "jobTemplate", "spec.jobTemplate", errs)
    job_spec = _map(job_template, "spec", "spec.jobTemplate.spec", errs)
    if job_spec.get("selector") is not None:
        errs.append(
            invalid(
                "spec.jobTemplate.spec.selector", job_spec["selector"], "`selector` will be auto-generated"
            )
        )
    if job_spec.get("manualSelector") is True:
        errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"]))
    sub: Errs = []
    _job_spec_fields(job_spec, sub)
    validate_template(job_spec, sub, selects=None, restart=_JOB_RESTART, kind="Job")
    errs.extend({**c, "field": "spec.jobTemplate." + c["field"]} for c in sub)


# --- apps/v1 and v1 -------------------------------------------------------------------------------------------


def _validate_daemonset(ds: Obj, errs: Errs) -> None:
    spec = _map(ds, "spec", "spec", errs)
    selects = workload_selector(spec, errs, "DaemonSet")
    validate_template(spec, errs, selects=selects, restart=["Always"], kind="DaemonSet")
    _non_negative(spec, "minReadySeconds", "spec.minReadySeconds", errs)
    _non_negative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", errs)
    rolling = rolling_update(
        spec, "updateStrategy", ["RollingUpdate", "OnDelete"], errs, forbidden_with="OnDelete"
    )
    if rolling:
        path = "spec.updateStrategy.rollingUpdate"
        unavailable = int_or_percent(
            rolling.get("maxUnavailable", 0),
            f"{path}.maxUnavailable",
            errs,
            at_most_100=True,
            show_regex=False,
        )
        surge = int_or_percent(
            rolling.get("maxSurge", 0), f"{path}.maxSurge", errs, at_most_100=True, show_regex=False
        )
        not_both_zero(rolling, path, unavailable, surge, errs)
        if unavailable and surge:
            errs.append(
                invalid(
                    f"{path}.maxSurge",
                    rolling.get("maxSurge"),
                    "may not be set when maxUnavailable is non-zero",
                )
            )


def _claim_volumes(spec: Obj, errs: Errs) -> list[Obj]:
    """The volumes a StatefulSet's pods get for its volumeClaimTemplates (so that mounts of them validate)."""
    volumes = []
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        name = _dict(_dict(claim).get("metadata")).get("name")
        path = f"spec.volumeClaimTemplates[{i}].metadata.name"
        if not name:
            errs.append(required(path, ""))
            continue
        errs.extend(invalid(path, name, m) for m in is_dns1123_label(str(name)))
        volumes.append({"name": name, "persistentVolumeClaim": {"claimName": name}})
    return volumes


def _validate_statefulset(sts: Obj, errs: Errs) -> None:
    spec = _map(sts, "spec", "spec", errs)
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        _non_negative(spec, key, f"spec.{key}", errs)
    _enum(spec, "podManagementPolicy", "spec.podManagementPolicy", ["OrderedReady", "Parallel"], errs)
    service = spec.get("serviceName")
    if service:
        errs.extend(invalid("spec.serviceName", service, m) for m in is_dns1123_label(str(service)))
    rolling = rolling_update(
        spec,
        "updateStrategy",
        ["RollingUpdate", "OnDelete"],
        errs,
        forbidden_with="OnDelete",
        detail="only allowed for updateStrategy 'RollingUpdate'",
    )
    _non_negative(rolling, "partition", "spec.updateStrategy.rollingUpdate.partition", errs)
    retention = _map(
        spec, "persistentVolumeClaimRetentionPolicy", "spec.persistentVolumeClaimRetentionPolicy", errs
    )
    for key in ("whenDeleted", "whenScaled"):
        _enum(retention, key, f"spec.persistentVolumeClaimRetentionPolicy.{key}", ["Retain", "Delete"], errs)
    ordinals = _map(spec, "ordinals", "spec.ordinals", errs)
    _non_negative(ordinals, "start", "spec.ordinals.start", errs)
    selects = workload_selector(spec, errs, "StatefulSet")
    validate_template(
        spec,
        errs,
        selects=selects,
        restart=["Always"],
        kind="StatefulSet",
        extra_volumes=_claim_volumes(spec, errs),
    )


_STS_MUTABLE = {
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
}


def _validate_statefulset_update(new: Obj, old: Obj, errs: Errs) -> None:
    a, b = _dict(new.get("spec")), _dict(old.get("spec"))
    keys = (set(a) | set(b)) - _STS_MUTABLE
    # revisionHistoryLimit and serviceName are defaulted or optional on both sides; compare what is there.
    if any(a.get(k) != b.get(k) for k in keys):
        errs.append(
            forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            )
        )


def _validate_replication_controller(rc: Obj, errs: Errs) -> None:
    spec = _map(rc, "spec", "spec", errs)
    _non_negative(spec, "replicas", "spec.replicas", errs)
    _non_negative(spec, "minReadySeconds", "spec.minReadySeconds", errs)
    selector = spec.get("selector")
    selects = None
    if not selector:
        errs.append(required("spec.selector", ""))
    elif not isinstance(selector, dict):
        errs.append(invalid("spec.selector", selector, "must be an object"))
    else:
        validate_labels(selector, "spec.selector", errs)
        selects = lambda labels: all(labels.get(k) == v for k, v in selector.items())  # noqa: E731
    validate_template(spec, errs, selects=selects, restart=["Always"], kind="ReplicationController")


def _validate_controller_revision(revision: Obj, errs: Errs) -> None:
    if revision.get("data") is None:
        errs.append(required("data", "data is mandatory"))
    if revision.get("revision") is None:
        errs.append(required("revision", ""))
    _non_negative(revision, "revision", "revision", errs)


def _selector_immutable(new: Obj, old: Obj, errs: Errs) -> None:
    _immutable(new, old, "spec.selector", errs)


def _data_immutable(new: Obj, old: Obj, errs: Errs) -> None:
    _immutable(new, old, "data", errs)


KINDS: dict[tuple[str, str], tuple[NameCheck, Check, UpdateCheck | None]] = {
    ("batch", "Job"): (is_dns1123_subdomain, _validate_job, _validate_job_update),
    ("batch", "CronJob"): (_validate_cronjob_name, _validate_cronjob, None),
    ("apps", "DaemonSet"): (is_dns1123_subdomain, _validate_daemonset, _selector_immutable),
    ("apps", "StatefulSet"): (is_dns1123_subdomain, _validate_statefulset, _validate_statefulset_update),
    ("apps", "ControllerRevision"): (is_dns1123_subdomain, _validate_controller_revision, _data_immutable),
    ("", "ReplicationController"): (is_dns1123_subdomain, _validate_replication_controller, None),
}
