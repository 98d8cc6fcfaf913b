"""Moving an object from client-side to server-side apply, as kubectl does (k8s.io/client-go/util/csaupgrade).

After `apply --server-side`, the fields that client-side apply set are still owned by its Update manager
(`kubectl-client-side-apply`, found as the Update owner of the last-applied-configuration annotation). Left so,
they could never be removed by server-side apply. The upgrade folds that manager's field set into the applier's
Apply entry and drops the Update entry, in one JSON patch whose resourceVersion test makes it safe against a
concurrent write. Pure functions over `metadata.managedFields`.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery import fieldpath
from apimachinery.fieldpath import FieldSet

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LAST_APPLIED_PATH = fieldpath.path("metadata", "annotations", LAST_APPLIED)

Entry = dict[str, Any]


def _fields(entry: Entry) -> FieldSet | None:
    try:
        return fieldpath.from_fields_v1(entry.get("fieldsV1") or {})
    except ValueError:
        return None


def find_fields_owners(entries: list[Entry], operation: str, paths: FieldSet) -> list[Entry]:
    """The entries of `operation` whose field set holds all of `paths`."""
    owners = []
    for entry in entries:
        if entry.get("operation") != operation:
            continue
        fields = _fields(entry)
        if fields is not None and paths <= fields:
            owners.append(entry)
    return owners


def upgraded(entries: list[Entry], csa_manager: str, ssa_manager: str, subresource: str = "") -> list[Entry]:
    """`entries` with the Update entry of `csa_manager` folded into the Apply entry of `ssa_manager` (made from
    the Update entry when there is none yet)."""
    entries = copy.deepcopy(entries)

    def is_csa(e: Entry) -> bool:
        return (
            e.get("manager") == csa_manager
            and e.get("operation") == "Update"
            and (e.get("subresource") or "") == subresource
        )

    target = next(
        (
            e
            for e in entries
            if e.get("manager") == ssa_manager
            and e.get("operation") == "Apply"
            and (e.get("subresource") or "") == subresource
        ),
        None,
    )
    if target is None:
        target = next((e for e in entries if is_csa(e)), None)
        if target is None:
            return entries
        target["operation"] = "Apply"
        target["manager"] = ssa_manager
    csa = next(
        (e for e in entries if is_csa(e) and e.get("apiVersion") == target.get("apiVersion")),
        None,
    )
    combined = _fields(target) or set()
    if csa is not None:
        combined |= _fields(csa) or set()
    target["fieldsV1"] = fieldpath.to_fields_v1(combined)
    return [e for e in entries if not is_csa(e)]


def upgrade_patch(obj: dict[str, Any], csa_managers: set[str], ssa_manager: str) -> list[Entry] | None:
    """The JSON patch that upgrades `obj`'s managed fields (None when there is nothing to do): the new list, and
    the object's resourceVersion as a precondition."""
    md = obj.get("metadata") or {}
    entries = md.get("managedFields")
    if not entries:
        return None
    result = entries
    for name in sorted(csa_managers):
        result = upgraded(result, name, ssa_manager)
    if result == entries:
        return None
    return [
        {"op": "replace", "path": "/metadata/managedFields", "value": result},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": md.get("resourceVersion")},
    ]
