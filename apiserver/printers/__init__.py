"""Server-side `Table` (meta.k8s.io/v1) rendering for `kubectl get`, column for column like kube-apiserver.

kubectl prints the cells verbatim, so everything human-readable (ages, `1/1`, `80:30080/TCP`) is computed here.
The server always sends the wide (`priority: 1`) columns too; kubectl hides them unless `-o wide`.
The row logic follows kubernetes `pkg/printers/internalversion/printers.go`; the code is our own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from apiserver.printers.cluster import (
    CONFIGMAP_COLUMNS,
    EVENT_COLUMNS,
    LEASE_COLUMNS,
    NAMESPACE_COLUMNS,
    NODE_COLUMNS,
    SECRET_COLUMNS,
    configmap_row,
    event_row,
    lease_row,
    namespace_row,
    node_roles,
    node_row,
    secret_row,
)
from apiserver.printers.common import (
    DEFAULT_COLUMNS,
    Obj,
    Row,
    default_row,
    format_labels,
    format_selector,
    human_duration,
    parse_time,
)
from apiserver.printers.network import (
    ENDPOINTS_COLUMNS,
    SERVICE_COLUMNS,
    endpoints_row,
    format_ports,
    service_row,
)
from apiserver.printers.pods import POD_COLUMNS, pod_row, pod_status
from apiserver.printers.rbac import (
    BINDING_COLUMNS,
    ROLE_COLUMNS,
    SERVICE_ACCOUNT_COLUMNS,
    binding_row,
    role_row,
    service_account_row,
)
from apiserver.printers.workloads import (
    DAEMONSET_COLUMNS,
    DEPLOYMENT_COLUMNS,
    JOB_COLUMNS,
    REPLICASET_COLUMNS,
    daemonset_row,
    deployment_row,
    job_row,
    replicaset_row,
)

__all__ = [
    "column_definitions",
    "format_labels",
    "format_ports",
    "format_selector",
    "human_duration",
    "node_roles",
    "parse_time",
    "partial_metadata",
    "pod_status",
    "to_table",
]

PRINTERS: dict[str, tuple[list[Obj], Callable[[Obj, datetime], Row]]] = {
    "pods": (POD_COLUMNS, pod_row),
    "deployments": (DEPLOYMENT_COLUMNS, deployment_row),
    "replicasets": (REPLICASET_COLUMNS, replicaset_row),
    "daemonsets": (DAEMONSET_COLUMNS, daemonset_row),
    "jobs": (JOB_COLUMNS, job_row),
    "services": (SERVICE_COLUMNS, service_row),
    "endpoints": (ENDPOINTS_COLUMNS, endpoints_row),
    "nodes": (NODE_COLUMNS, node_row),
    "namespaces": (NAMESPACE_COLUMNS, namespace_row),
    "events": (EVENT_COLUMNS, event_row),
    "leases": (LEASE_COLUMNS, lease_row),
    "configmaps": (CONFIGMAP_COLUMNS, configmap_row),
    "secrets": (SECRET_COLUMNS, secret_row),
    "serviceaccounts": (SERVICE_ACCOUNT_COLUMNS, service_account_row),
    "roles": (ROLE_COLUMNS, role_row),
    "clusterroles": (ROLE_COLUMNS, role_row),
    "rolebindings": (BINDING_COLUMNS, binding_row),
    "clusterrolebindings": (BINDING_COLUMNS, binding_row),
}


def column_definitions(resource: str) -> list[Obj]:
    return [dict(c) for c in PRINTERS.get(resource, (DEFAULT_COLUMNS, default_row))[0]]


def partial_metadata(obj: Obj) -> Obj:
    """The PartialObjectMetadata kubectl reads for -A, --show-labels and -L."""
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def to_table(
    resource: str,
    objs: list[Obj],
    *,
    include_object: str = "Metadata",
    list_meta: Obj | None = None,
    now: datetime | None = None,
) -> Obj:
    """A meta.k8s.io/v1 Table of `objs` of `resource` (plural, e.g. "pods").

    `include_object` is the `includeObject` query parameter: `Metadata` (default: a PartialObjectMetadata per
    row), `Object` (the whole object) or `None`. `list_meta` becomes the Table's metadata (resourceVersion,
    continue). `now` is for tests; ages are relative to it.
    """
    now = now or datetime.now(UTC)
    columns, render = PRINTERS.get(resource, (DEFAULT_COLUMNS, default_row))
    rows = []
    for obj in objs:
        cells, conditions = render(obj, now)
        row: Obj = {"cells": cells}
        if conditions:
            row["conditions"] = conditions
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": [dict(c) for c in columns],
        "rows": rows,
    }
