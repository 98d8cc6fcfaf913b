"""Revision bookkeeping for Deployments: the revision annotations, history clean-up and rollback.

A Deployment's ReplicaSets carry `deployment.kubernetes.io/revision`; the one for the current template gets the
highest number. Rolling back (`kubectl rollout undo`) is a change of the Deployment's template to an old
ReplicaSet's template; the controller then finds that ReplicaSet again and gives it the next revision, keeping the
numbers it had in `deployment.kubernetes.io/revision-history`.
"""

from __future__ import annotations

import copy

from controller_manager import rollout
from controller_manager.hashing import HASH_LABEL, templates_equal, without_hash_label
from controller_manager.podutil import Obj, controller_reference

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
# Deployment annotations that are not copied onto its ReplicaSets.
_NOT_COPIED = {
    LAST_APPLIED,
    REVISION,
    REVISION_HISTORY,
    rollout.DESIRED_REPLICAS_ANNOTATION,
    rollout.MAX_REPLICAS_ANNOTATION,
    ROLLBACK_TO,
}
MAX_HISTORY_CHARS = 2000
DEFAULT_HISTORY_LIMIT = 10


def revision_of(obj: Obj | None) -> int:
    value = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(REVISION)
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


def max_revision(rss: list[Obj]) -> int:
    return max((revision_of(rs) for rs in rss), default=0)


def copy_deployment_annotations(deployment: Obj, annotations: dict[str, str]) -> bool:
    """Copy the Deployment's own annotations onto a ReplicaSet's; True if anything changed."""
    changed = False
    for k, v in ((deployment.get("metadata") or {}).get("annotations") or {}).items():
        if k in _NOT_COPIED or annotations.get(k) == v:
            continue
        annotations[k] = v
        changed = True
    return changed


def new_rs_annotations(
    deployment: Obj, rs_annotations: dict[str, str], new_revision: int, *, exists: bool
) -> bool:
    """Update a new ReplicaSet's annotations in place (Kubernetes' SetNewReplicaSetAnnotations); True if changed."""
    changed = copy_deployment_annotations(deployment, rs_annotations)
    had = rs_annotations.get(REVISION)
    try:
        old = int(had) if had else 0
    except ValueError:
        old = 0
    if old < new_revision:
        rs_annotations[REVISION] = str(new_revision)
        changed = True
        if had:
            # Reusing an old ReplicaSet (a rollback): remember the revisions it had.
            history = rs_annotations.get(REVISION_HISTORY, "")
            joined = f"{history},{had}" if history else had
            rs_annotations[REVISION_HISTORY] = joined[-MAX_HISTORY_CHARS:].lstrip(",")
    if not exists:
        for k, v in rollout.replicas_annotations(deployment).items():
            if rs_annotations.get(k) != v:
                rs_annotations[k] = v
                changed = True
    return changed


def history_to_delete(deployment: Obj, old_rss: list[Obj]) -> list[Obj]:
    """Old ReplicaSets beyond revisionHistoryLimit that are empty and settled, lowest revision first."""
    limit = (deployment.get("spec") or {}).get("revisionHistoryLimit", DEFAULT_HISTORY_LIMIT)
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
    excess = len(alive) - int(limit)
    if excess <= 0:
        return []
    victims = []
    for rs in sorted(alive, key=revision_of)[:excess]:
        settled = rollout.status_int(rs, "observedGeneration") >= rs["metadata"].get("generation", 0)
        if rollout.status_int(rs, "replicas") == 0 and rollout.replicas_of(rs) == 0 and settled:
            victims.append(rs)
    return victims


def find_new_rs(deployment: Obj, rss: list[Obj]) -> Obj | None:
    """The ReplicaSet whose template equals the Deployment's (ignoring the hash label); the oldest if several."""
    template = (deployment.get("spec") or {}).get("template")
    matching = [rs for rs in rss if templates_equal((rs.get("spec") or {}).get("template"), template)]
    matching.sort(key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"]))
    return matching[0] if matching else None


class RollbackError(Exception):
    """The requested revision does not exist."""


def rollback_patch(deployment: Obj, rss: list[Obj], to_revision: int = 0) -> list[Obj] | None:
    """The JSON patch that `kubectl rollout undo [--to-revision=N]` sends, or None when already at that template.

    `rss` are the Deployment's ReplicaSets. Revision 0 means the previous one (the second highest).
    """
    by_revision = {revision_of(rs): rs for rs in rss if revision_of(rs) > 0}
    if to_revision == 0:
        revisions = sorted(by_revision)
        if len(revisions) < 2:
            raise RollbackError("no rollout history found")
        to_revision = revisions[-2]
    rs = by_revision.get(to_revision)
    if rs is None:
        raise RollbackError(f"unable to find specified revision {to_revision} in history")
    template = without_hash_label(rs["spec"]["template"])
    if templates_equal(template, (deployment.get("spec") or {}).get("template")):
        return None
    # As kubectl does: the Deployment keeps its bookkeeping annotations and takes the rest from the ReplicaSet.
    annotations = {
        k: v
        for k, v in ((deployment.get("metadata") or {}).get("annotations") or {}).items()
        if k in _NOT_COPIED
    }
    for k, v in ((rs.get("metadata") or {}).get("annotations") or {}).items():
        if k not in _NOT_COPIED:
            annotations[k] = v
    return [
        {"op": "replace", "path": "/spec/template", "value": copy.deepcopy(template)},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


def new_rs_object(deployment: Obj, pod_hash: str, replicas: int, revision: int) -> Obj:
    """The ReplicaSet a Deployment creates for its current template: `<deployment>-<hash>`, owned by it."""
    meta = deployment["metadata"]
    spec = deployment.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: pod_hash}
    template.setdefault("metadata", {})["labels"] = labels
    selector = copy.deepcopy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    annotations: dict[str, str] = {}
    new_rs_annotations(deployment, annotations, revision, exists=False)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta.get("namespace"),
            "labels": dict(labels),
            "annotations": annotations,
            "ownerReferences": [controller_owner_ref(deployment)],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": spec.get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    }


def controller_owner_ref(owner: Obj) -> Obj:
    return controller_reference(owner, owner.get("apiVersion", "apps/v1"), owner.get("kind", "Deployment"))
