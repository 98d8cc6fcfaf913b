"""Validation of workloads (deployments, replica sets), namespaces, events and leases, and the entry point
`validate` that picks the rules by kind (services and endpoints are in `services`, nodes and bindings in `nodes`)."""

from __future__ import annotations

from collections.abc import Callable

from apimachinery.resources import by_kind
from apimachinery.validation import rbac
from apimachinery.validation.apiregistration import KINDS as APIREGISTRATION_KINDS
from apimachinery.validation.autoscaling import KINDS as AUTOSCALING_KINDS
from apimachinery.validation.common import (
    Cause,
    Errs,
    NameCheck,
    Obj,
    _dict,
    _enum,
    _map,
    _min,
    int_or_percent,
    invalid,
    required,
    validate_object_meta,
    validate_object_meta_update,
)
from apimachinery.validation.configsources import CONFIG_KINDS
from apimachinery.validation.discovery import validate_endpoint_slice, validate_endpoint_slice_update
from apimachinery.validation.networkpolicy import validate_network_policy
from apimachinery.validation.nodes import validate_binding, validate_node, validate_node_update
from apimachinery.validation.pods import (
    _validate_pod,
    _validate_pod_update,
)
from apimachinery.validation.services import (
    validate_endpoints,
    validate_service,
    validate_service_update,
)
from apimachinery.validation.storage import KINDS as STORAGE_KINDS
from apimachinery.validation.syntax import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
)
from apimachinery.validation.workloads import KINDS as WORKLOAD_KINDS
from apimachinery.validation.workloads import (
    not_both_zero,
    rolling_update,
    validate_template,
    workload_selector,
)

# --- apps -----------------------------------------------------------------------------------------------------


def _validate_workload(obj: Obj, errs: Errs) -> None:
    """What Deployments and ReplicaSets share: replicas, selector, and a template the selector selects."""
    spec = _map(obj, "spec", "spec", errs)
    _min(spec, "replicas", "spec.replicas", errs)
    _min(spec, "minReadySeconds", "spec.minReadySeconds", errs)
    # Kubernetes words these for Deployments and ReplicaSets alike ("for deployment", "in ReplicaSet").
    selects = workload_selector(spec, errs, "Deployment")
    validate_template(
        spec, errs, selects=selects, restart=["Always"], kind="ReplicaSet", restart_optional=True
    )


def _validate_deployment(deployment: Obj, errs: Errs) -> None:
    _validate_workload(deployment, errs)
    spec = _map(deployment, "spec", "spec", errs)
    rolling = rolling_update(spec, "strategy", ["Recreate", "RollingUpdate"], errs, forbidden_with="Recreate")
    if rolling:
        path = "spec.strategy.rollingUpdate"
        surge = int_or_percent(rolling.get("maxSurge", 0), f"{path}.maxSurge", errs)
        unavailable = int_or_percent(rolling.get("maxUnavailable", 0), f"{path}.maxUnavailable", errs)
        not_both_zero(rolling, path, unavailable, surge, errs)
        if isinstance(rolling.get("maxUnavailable"), str) and unavailable is not None and unavailable > 100:
            errs.append(
                invalid(f"{path}.maxUnavailable", rolling["maxUnavailable"], "must not be greater than 100%")
            )
    _min(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", errs)
    deadline = _min(spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds", errs)
    min_ready = spec.get("minReadySeconds")
    min_ready = min_ready if isinstance(min_ready, int) else 0
    if deadline is not None and deadline <= min_ready:
        errs.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))


def _validate_selector_update(new: Obj, old: Obj, errs: Errs) -> None:
    new_selector = _dict(new.get("spec")).get("selector")
    if new_selector != _dict(old.get("spec")).get("selector"):
        errs.append(invalid("spec.selector", new_selector, "field is immutable"))


# --- nodes, namespaces, events, leases, bindings --------------------------------------------------------------


def _validate_namespace(namespace: Obj, errs: Errs) -> None:
    finalizers = _map(namespace, "spec", "spec", errs).get("finalizers")
    for i, finalizer in enumerate(finalizers if isinstance(finalizers, list) else []):
        errs.extend(invalid(f"spec.finalizers[{i}]", finalizer, m) for m in is_qualified_name(str(finalizer)))


def _validate_event(event: Obj, errs: Errs) -> None:
    involved = event.get("involvedObject")
    if not involved:
        errs.append(required("involvedObject", ""))
        return
    if not isinstance(involved, dict):
        errs.append(invalid("involvedObject", involved, "must be an object"))
        return
    namespace = _dict(event.get("metadata")).get("namespace") or ""
    involved_ns = involved.get("namespace") or ""
    # Events about cluster-scoped objects live in "default" (or nowhere); others in their object's namespace.
    if (not involved_ns and namespace not in ("", "default")) or (involved_ns and involved_ns != namespace):
        errs.append(invalid("involvedObject.namespace", involved_ns, "does not match event.namespace"))
    _enum(event, "type", "type", ["Normal", "Warning"], errs)
    _min(event, "count", "count", errs)


def _validate_lease(lease: Obj, errs: Errs) -> None:
    spec = _map(lease, "spec", "spec", errs)
    _min(spec, "leaseDurationSeconds", "spec.leaseDurationSeconds", errs, low=1)
    _min(spec, "leaseTransitions", "spec.leaseTransitions", errs)


# --- entry point ----------------------------------------------------------------------------------------------

Check = Callable[[Obj, Errs], None]
UpdateCheck = Callable[[Obj, Obj, Errs], None]

# (group, kind) -> (name syntax, object checks, update checks)
_KINDS: dict[tuple[str, str], tuple[NameCheck, Check | None, UpdateCheck | None]] = {
    ("", "Pod"): (is_dns1123_subdomain, _validate_pod, _validate_pod_update),
    ("", "Namespace"): (is_dns1123_label, _validate_namespace, None),
    ("", "Service"): (is_dns1035_label, validate_service, validate_service_update),
    ("", "Node"): (is_dns1123_subdomain, validate_node, validate_node_update),
    ("", "Endpoints"): (is_dns1123_subdomain, validate_endpoints, None),
    ("", "Event"): (is_dns1123_subdomain, _validate_event, None),
    ("", "Binding"): (is_dns1123_subdomain, validate_binding, None),
    ("apps", "Deployment"): (is_dns1123_subdomain, _validate_deployment, _validate_selector_update),
    ("apps", "ReplicaSet"): (is_dns1123_subdomain, _validate_workload, _validate_selector_update),
    ("coordination.k8s.io", "Lease"): (is_dns1123_subdomain, _validate_lease, None),
    ("discovery.k8s.io", "EndpointSlice"): (
        is_dns1123_subdomain,
        validate_endpoint_slice,
        validate_endpoint_slice_update,
    ),
    ("networking.k8s.io", "NetworkPolicy"): (is_dns1123_subdomain, validate_network_policy, None),
    **WORKLOAD_KINDS,
}
_KINDS.update(rbac.KINDS)
_KINDS.update(STORAGE_KINDS)
_KINDS.update(CONFIG_KINDS)
_KINDS.update(AUTOSCALING_KINDS)
_KINDS.update(APIREGISTRATION_KINDS)


def validate(obj: Obj, old: Obj | None = None) -> list[Cause]:
    """The causes that make `obj` invalid (empty list: valid). With `old`, the update rules apply too.

    Expects the object after defaulting and after the server has set the name from generateName.
    """
    if not isinstance(obj, dict):
        return [invalid("", obj, "must be an object")]
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    name_check, check, update_check = _KINDS.get(
        (api_version.rpartition("/")[0], kind), (is_dns1123_subdomain, None, None)
    )
    info = by_kind(api_version, kind)
    errs: Errs = []
    try:
        meta = _map(obj, "metadata", "metadata", errs)
        validate_object_meta(meta, "metadata", name_check, info.namespaced if info else None, errs)
        if check is not None:
            check(obj, errs)
        if old is not None:
            validate_object_meta_update(meta, _dict(old.get("metadata")), "metadata", errs)
            if update_check is not None:
                update_check(obj, old, errs)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        # The checks read client input defensively; should a shape still slip through, the client gets a 422
        # naming the problem rather than a 500.
        errs.append(invalid("", type(exc).__name__, f"malformed object: {exc}"))
    return errs
