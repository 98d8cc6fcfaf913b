"""Server-side `Table` (meta.k8s.io/v1) rendering for `kubectl get`, column for column like kube-apiserver.

kubectl prints the cells verbatim, so everything human-readable (ages, `1/1`, `80:30080/TCP`) is computed here.
The server always sends the wide (`priority: 1`) columns too; kubectl hides them unless `-o wide`.
The row logic follows kubernetes `pkg/printers/internalversion/printers.go`; the code is our own.

kube-apiserver's built-in printers are code: they are registered here, by group and kind, in `PRINTERS`. A kind
without one gets the default columns (Name, Created At); a custom resource gets its CRD's additionalPrinterColumns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from apimachinery.resources import ResourceInfo
from apiserver import eventsv1
from apiserver.crd.info import CustomResourceInfo
from apiserver.printers.apiregistration import APISERVICE_COLUMNS, apiservice_row
from apiserver.printers.autoscaling import HPA_COLUMNS, hpa_row
from apiserver.printers.certificates import CSR_COLUMNS, csr_row
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
from apiserver.printers.controllers import (
    CONTROLLERREVISION_COLUMNS,
    CRONJOB_COLUMNS,
    REPLICATIONCONTROLLER_COLUMNS,
    STATEFULSET_COLUMNS,
    controller_revision_row,
    cronjob_row,
    replication_controller_row,
    statefulset_row,
)
from apiserver.printers.custom import custom_columns, custom_row
from apiserver.printers.network import (
    ENDPOINTS_COLUMNS,
    ENDPOINTSLICE_COLUMNS,
    SERVICE_COLUMNS,
    endpoints_row,
    endpointslice_row,
    format_ports,
    service_row,
)
from apiserver.printers.networkpolicy import NETWORKPOLICY_COLUMNS, networkpolicy_row
from apiserver.printers.pods import POD_COLUMNS, pod_row, pod_status
from apiserver.printers.rbac import (
    BINDING_COLUMNS,
    ROLE_COLUMNS,
    SERVICE_ACCOUNT_COLUMNS,
    binding_row,
    role_row,
    service_account_row,
)
from apiserver.printers.storage import (
    PV_COLUMNS,
    PVC_COLUMNS,
    STORAGECLASS_COLUMNS,
    pv_row,
    pvc_row,
    storageclass_row,
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
    "PRINTERS",
    "column_definitions",
    "format_labels",
    "format_ports",
    "format_selector",
    "human_duration",
    "node_roles",
    "parse_time",
    "partial_metadata",
    "pod_status",
    "printer_for",
    "to_table",
]

Printer = tuple[list[Obj], Callable[[Obj, datetime], Row]]

# The built-in printers by (group, kind).
PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): (POD_COLUMNS, pod_row),
    ("apps", "Deployment"): (DEPLOYMENT_COLUMNS, deployment_row),
    ("apps", "ReplicaSet"): (REPLICASET_COLUMNS, replicaset_row),
    ("apps", "DaemonSet"): (DAEMONSET_COLUMNS, daemonset_row),
    ("batch", "Job"): (JOB_COLUMNS, job_row),
    ("", "Service"): (SERVICE_COLUMNS, service_row),
    ("", "Endpoints"): (ENDPOINTS_COLUMNS, endpoints_row),
    ("discovery.k8s.io", "EndpointSlice"): (ENDPOINTSLICE_COLUMNS, endpointslice_row),
    ("networking.k8s.io", "NetworkPolicy"): (NETWORKPOLICY_COLUMNS, networkpolicy_row),
    ("", "Node"): (NODE_COLUMNS, node_row),
    ("", "Namespace"): (NAMESPACE_COLUMNS, namespace_row),
    ("", "Event"): (EVENT_COLUMNS, event_row),
    ("events.k8s.io", "Event"): (EVENT_COLUMNS, lambda event, now: event_row(eventsv1.to_core(event), now)),
    ("coordination.k8s.io", "Lease"): (LEASE_COLUMNS, lease_row),
    ("", "ConfigMap"): (CONFIGMAP_COLUMNS, configmap_row),
    ("", "Secret"): (SECRET_COLUMNS, secret_row),
    ("batch", "CronJob"): (CRONJOB_COLUMNS, cronjob_row),
    ("apps", "StatefulSet"): (STATEFULSET_COLUMNS, statefulset_row),
    ("", "ReplicationController"): (REPLICATIONCONTROLLER_COLUMNS, replication_controller_row),
    ("apps", "ControllerRevision"): (CONTROLLERREVISION_COLUMNS, controller_revision_row),
    ("", "ServiceAccount"): (SERVICE_ACCOUNT_COLUMNS, service_account_row),
    ("rbac.authorization.k8s.io", "Role"): (ROLE_COLUMNS, role_row),
    ("rbac.authorization.k8s.io", "ClusterRole"): (ROLE_COLUMNS, role_row),
    ("rbac.authorization.k8s.io", "RoleBinding"): (BINDING_COLUMNS, binding_row),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (BINDING_COLUMNS, binding_row),
    ("", "PersistentVolume"): (PV_COLUMNS, pv_row),
    ("", "PersistentVolumeClaim"): (PVC_COLUMNS, pvc_row),
    ("storage.k8s.io", "StorageClass"): (STORAGECLASS_COLUMNS, storageclass_row),
    ("autoscaling", "HorizontalPodAutoscaler"): (HPA_COLUMNS, hpa_row),
    ("apiregistration.k8s.io", "APIService"): (APISERVICE_COLUMNS, apiservice_row),
    ("certificates.k8s.io", "CertificateSigningRequest"): (CSR_COLUMNS, csr_row),
}
DEFAULT: Printer = (DEFAULT_COLUMNS, default_row)


def printer_for(info: ResourceInfo) -> Printer:
    """The columns and row function of a resource: its CRD's columns, its registered printer, or the default."""
    if isinstance(info, CustomResourceInfo):
        custom = info
        return custom_columns(custom), lambda obj, now: custom_row(custom, obj, now)
    return PRINTERS.get((info.group, info.kind), DEFAULT)


def column_definitions(info: ResourceInfo) -> list[Obj]:
    return [dict(c) for c in printer_for(info)[0]]


def partial_metadata(obj: Obj) -> Obj:
    """The PartialObjectMetadata kubectl reads for -A, --show-labels and -L."""
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def to_table(
    info: ResourceInfo,
    objs: list[Obj],
    *,
    include_object: str = "Metadata",
    list_meta: Obj | None = None,
    now: datetime | None = None,
) -> Obj:
    """A meta.k8s.io/v1 Table of `objs` of the resource `info` declares.

    `include_object` is the `includeObject` query parameter: `Metadata` (default: a PartialObjectMetadata per
    row), `Object` (the whole object) or `None`. `list_meta` becomes the Table's metadata (resourceVersion,
    continue). `now` is for tests; ages are relative to it.
    """
    now = now or datetime.now(UTC)
    columns, render = printer_for(info)
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
