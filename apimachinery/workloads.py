"""Names the workload kinds share between the apiserver, the controllers and kctl: labels, annotations, the Job
tracking finalizer, and the selector the apiserver generates for a Job (Kubernetes' `generateSelector`)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

# --- batch/v1 -------------------------------------------------------------------------------------------------
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"  # still set, as Kubernetes does, for selectors written before the prefix
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # annotation and label of Indexed Job pods
JOB_COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
CRONJOB_SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"

# --- apps/v1 --------------------------------------------------------------------------------------------------
CONTROLLER_REVISION_HASH = "controller-revision-hash"
STATEFULSET_POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def generate_job_selector(job: Obj) -> None:
    """Give a Job (in place) the labels and selector that tie its pods to it alone, unless `manualSelector`.

    The template gets `job-name` and `controller-uid` labels (prefixed and legacy) unless the client set them;
    the selector selects `batch.kubernetes.io/controller-uid=<uid>`. A conflicting value the client set is left
    for validation to reject, as in Kubernetes.
    """
    spec = job.get("spec")
    meta = job.get("metadata")
    if not isinstance(spec, dict) or not isinstance(meta, dict) or spec.get("manualSelector") is True:
        return
    template = spec.get("template")
    if not isinstance(template, dict):
        return
    tmeta = template.setdefault("metadata", {})
    if not isinstance(tmeta, dict):
        return
    labels = tmeta.get("labels")
    if labels is None:
        labels = tmeta["labels"] = {}
    if not isinstance(labels, dict):
        return
    name, uid = str(meta.get("name") or ""), str(meta.get("uid") or "")
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, name)
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, uid)
    selector = spec.get("selector")
    if selector is None:
        selector = spec["selector"] = {}
    if not isinstance(selector, dict):
        return
    match_labels = selector.get("matchLabels")
    if match_labels is None:
        match_labels = selector["matchLabels"] = {}
    if isinstance(match_labels, dict):
        match_labels.setdefault(CONTROLLER_UID_LABEL, uid)
