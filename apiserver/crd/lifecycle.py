"""The life of a CustomResourceDefinition: its strategy in the store, and the status the apiserver gives it.

    created -> NamesAccepted (or a naming conflict) -> Established: its custom resources are served
    deleted -> Terminating (finalizer customresourcecleanup.apiextensions.k8s.io) -> its objects are deleted
            -> the finalizer goes, and with it the CRD

`desired_status` is a pure function of the CRD and the others of its group, so the controller can compare and
write only what changed.
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver.crd.info import storage_version
from apiserver.crd.validation import validate_crd
from apiserver.objectmeta import now
from apiserver.strategy import Strategy

Obj = dict[str, Any]

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


class CRDStrategy(Strategy):
    status_subresource = True
    reset_status_on_create = True
    has_generation = True

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        set_defaults(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        set_defaults(new)

    def validate(self, obj: Obj, old: Obj | None) -> list[dict[str, str]]:
        return validate_crd(obj, old)

    def prepare_for_delete(self, obj: Obj) -> None:
        # As kube-apiserver: deleting a CRD first deletes its objects; the finalizer holds it until then.
        md = obj["metadata"]
        finalizers = md.setdefault("finalizers", [])
        if CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)
        status = obj.setdefault("status", {})
        status["conditions"] = _with_condition(
            status.get("conditions") or [],
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        )

    def finalized(self, obj: Obj) -> bool:
        # Not before it has been marked (and its finalizer added): then whenever its finalizers are gone.
        return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def set_defaults(crd: Obj) -> None:
    """What kube-apiserver defaults in a CRD: the singular and list names, `None` conversion."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    spec.setdefault("conversion", {"strategy": "None"})


def _with_condition(conditions: list[Obj], type_: str, status: str, reason: str, message: str) -> list[Obj]:
    """The conditions with one set; its lastTransitionTime changes only when its status does."""
    out = []
    found = False
    for condition in conditions:
        if condition.get("type") == type_:
            found = True
            changed = condition.get("status") != status
            condition = {
                "type": type_,
                "status": status,
                "lastTransitionTime": now() if changed else condition.get("lastTransitionTime") or now(),
                "reason": reason,
                "message": message,
            }
        out.append(condition)
    if not found:
        out.append(
            {
                "type": type_,
                "status": status,
                "lastTransitionTime": now(),
                "reason": reason,
                "message": message,
            }
        )
    return out


def _conflict(names: Obj, others: list[Obj], group: str, builtin: set[tuple[str, str]]) -> tuple[str, str]:
    """(reason, message) of the first name another CRD of the group (or a built-in resource) already has."""
    plural, kind = names.get("plural"), names.get("kind")
    for other in others:
        accepted = (other.get("status") or {}).get("acceptedNames") or {}
        if accepted.get("plural") == plural:
            return "PluralConflict", f'"{plural}" is already in use'
        if accepted.get("kind") == kind:
            return "KindConflict", f'"{kind}" is already in use'
        for short in names.get("shortNames") or ():
            if short in (accepted.get("shortNames") or ()):
                return "ShortNamesConflict", f'"{short}" is already in use'
    if (group, str(plural)) in builtin:
        return "PluralConflict", f'"{plural}" is already in use'
    return "", ""


def desired_status(crd: Obj, others: list[Obj], builtin: set[tuple[str, str]]) -> Obj:
    """The status the CRD should have, given the other CRDs of its group and the built-in (group, plural)s."""
    spec = crd.get("spec") or {}
    status = copy.deepcopy(crd.get("status") or {})
    names = dict(spec.get("names") or {})
    reason, message = _conflict(names, others, str(spec.get("group")), builtin)
    conditions = status.get("conditions") or []
    if reason:
        conditions = _with_condition(conditions, "NamesAccepted", "False", reason, message)
        conditions = _with_condition(
            conditions, "Established", "False", "NotAccepted", "not all names are accepted"
        )
    else:
        status["acceptedNames"] = names
        conditions = _with_condition(conditions, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
        conditions = _with_condition(
            conditions, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted"
        )
    status["conditions"] = conditions
    status.setdefault("acceptedNames", {"plural": "", "kind": ""})
    stored = list(status.get("storedVersions") or [])
    storage = storage_version(crd)
    if storage and storage not in stored:
        stored.append(storage)
    status["storedVersions"] = stored
    return status


def established(crd: Obj) -> bool:
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (crd.get("status") or {}).get("conditions") or ()
    )
