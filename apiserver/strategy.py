"""Per-resource behaviour for the generic store (the `RESTCreateStrategy`/`RESTUpdateStrategy` of kube-apiserver).

The defaults here fit most resources; a subclass overrides only what its resource does differently.
"""

from __future__ import annotations

import base64
from typing import Any

from apimachinery.validation import pod_cidr_outside
from apimachinery.workloads import generate_job_selector
from apiserver.allocator import ServiceAllocator

Obj = dict[str, Any]


class Strategy:
    status_subresource = False
    reset_status_on_create = False
    has_generation = False
    # Updates that claim resources in storage go through admit_update / abandon_update / commit_update.
    allocates_on_update = False
    # A DELETE answers the deleted object rather than a Success Status (genericregistry.Store.ReturnDeletedObject,
    # set upstream for pods, services, namespaces, serviceaccounts, PVs, PVCs, pod templates, resource quotas).
    returns_deleted_object = False

    def prepare_for_create(self, obj: Obj) -> None:
        if self.reset_status_on_create:
            obj.pop("status", None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Called for writes to the main resource (not /status)."""

    def prepare_for_subresource(self, new: Obj, old: Obj, subresource: str) -> None:
        """Called for writes to /status (and CSRs' /approval) after status was taken from the request."""

    def prepare_for_delete(self, obj: Obj) -> None:
        """Called when the object is marked for deletion (deletionTimestamp set) but must wait."""

    def validate(self, obj: Obj, old: Obj | None) -> list[dict[str, str]]:
        return []

    async def admit_create(self, obj: Obj, *, dry_run: bool) -> None:
        """Admission on create: allocations and checks that need I/O. Raise StatusError to refuse."""

    async def release(self, obj: Obj) -> None:
        """Free what admission allocated for an object that is gone (or whose create failed)."""

    async def admit_update(self, new: Obj, old: Obj) -> None:
        """Claim what `new` needs and `old` does not hold (may change `new`); raise StatusError to refuse."""

    async def abandon_update(self, new: Obj, old: Obj) -> None:
        """The update did not happen: free what admit_update claimed."""

    async def commit_update(self, new: Obj, old: Obj) -> None:
        """The update happened: free what `old` held and `new` no longer does."""

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        return 0

    def finalized(self, obj: Obj) -> bool:
        """Whether nothing but metadata.finalizers holds the object back (namespaces also have spec.finalizers)."""
        return True


class WithStatus(Strategy):
    status_subresource = True
    reset_status_on_create = True
    has_generation = True


class PodStrategy(WithStatus):
    returns_deleted_object = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}
        spec = obj.get("spec")
        grace = spec.get("terminationGracePeriodSeconds") if isinstance(spec, dict) else None
        if isinstance(grace, int) and not isinstance(grace, bool) and grace < 0:
            # As kube-apiserver: a negative grace period means "as short as possible", which is 1 second.
            spec["terminationGracePeriodSeconds"] = 1  # type: ignore[index]

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        """Graceful deletion as Kubernetes does it: a pod on a node gets its grace period for the kubelet to stop it;
        a pod that never ran, or has finished, goes at once."""
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return requested if requested >= 0 else 1
        existing = (obj.get("metadata") or {}).get("deletionGracePeriodSeconds")
        if isinstance(existing, int):
            return existing
        grace = spec.get("terminationGracePeriodSeconds")
        return grace if isinstance(grace, int) and not isinstance(grace, bool) and grace >= 0 else 30


class NodeStrategy(Strategy):
    # Nodes may be created with status (the kubelet registers itself that way); /status exists for updates.
    status_subresource = True

    def __init__(self, cluster_cidr: str | None = None) -> None:
        self.cluster_cidr = cluster_cidr

    def validate(self, obj: Obj, old: Obj | None) -> list[dict[str, str]]:
        """With --cluster-cidr, a podCIDR must lie inside it: every kubelet routes other nodes' podCIDRs."""
        return pod_cidr_outside(obj, self.cluster_cidr) if self.cluster_cidr else []


class NamespaceStrategy(Strategy):
    status_subresource = True
    returns_deleted_object = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        # Only namespaces/{name}/finalize changes spec.finalizers.
        new.setdefault("spec", {})["finalizers"] = (old.get("spec") or {}).get("finalizers") or []
        if not new["spec"]["finalizers"]:
            del new["spec"]["finalizers"]

    def prepare_for_delete(self, obj: Obj) -> None:
        obj.setdefault("status", {})["phase"] = "Terminating"

    def finalized(self, obj: Obj) -> bool:
        return not (obj.get("spec") or {}).get("finalizers")


class ServiceStrategy(WithStatus):
    has_generation = False
    returns_deleted_object = True
    allocates_on_update = True

    def __init__(self, allocator: ServiceAllocator) -> None:
        self.allocator = allocator

    async def admit_create(self, obj: Obj, *, dry_run: bool) -> None:
        await self.allocator.allocate(obj, dry_run=dry_run)

    async def release(self, obj: Obj) -> None:
        await self.allocator.release(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Drop the fields that only the old type had, when the client left them as they were (Kubernetes'
        dropTypeDependentFields): switching a NodePort to ClusterIP with a merge patch must not fail validation on
        the node ports it still carries."""
        spec = new.get("spec") or {}
        old_spec = old.get("spec") or {}
        new_type = spec.get("type") or "ClusterIP"
        if new_type not in ("NodePort", "LoadBalancer"):
            old_ports = {(p.get("port"), p.get("nodePort")) for p in old_spec.get("ports") or []}
            for port in spec.get("ports") or []:
                if (port.get("port"), port.get("nodePort")) in old_ports:
                    port.pop("nodePort", None)
            if spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy"):
                spec.pop("externalTrafficPolicy", None)
        if new_type != "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") == old_spec.get(
            "allocateLoadBalancerNodePorts"
        ):
            spec.pop("allocateLoadBalancerNodePorts", None)

    async def admit_update(self, new: Obj, old: Obj) -> None:
        await self.allocator.reallocate(new, old)

    async def abandon_update(self, new: Obj, old: Obj) -> None:
        await self.allocator.release_difference(new, old)

    async def commit_update(self, new: Obj, old: Obj) -> None:
        await self.allocator.release_difference(old, new)


class EndpointSliceStrategy(Strategy):
    # metadata.generation counts changes of endpoints, ports or address type (endpointSliceStrategy).
    has_generation = True


class JobStrategy(WithStatus):
    def prepare_for_create(self, obj: Obj) -> None:
        """A new Job's pods are tied to it by labels the server picks (uid is set by now), unless manualSelector."""
        super().prepare_for_create(obj)
        generate_job_selector(obj)


class VolumeStrategy(Strategy):
    """PersistentVolumes and claims: a new one is Pending whatever status it came with (status is its own
    subresource, written by the PV controller) and carries its protection finalizer (what upstream's
    StorageObjectInUseProtection admission adds; controller_manager.volume_protection removes it)."""

    status_subresource = True
    returns_deleted_object = True

    def __init__(self, finalizer: str) -> None:
        self.finalizer = finalizer

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}
        md = obj.setdefault("metadata", {})
        finalizers = md.get("finalizers") if isinstance(md.get("finalizers"), list) else []
        if self.finalizer not in finalizers:
            md["finalizers"] = [*finalizers, self.finalizer]


class SecretStrategy(Strategy):
    """stringData is write-only: its keys are merged into data (base64), overriding data's (as the v1 conversion
    does), and it is not stored."""

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        merge_string_data(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        merge_string_data(new)


def merge_string_data(secret: Obj) -> None:
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data: Obj = secret["data"] if isinstance(secret.get("data"), dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


def strategies(allocator: ServiceAllocator, cluster_cidr: str | None = None) -> dict[str, Strategy]:
    """Strategy by resource name; anything not listed uses the plain Strategy."""
    return {
        "pods": PodStrategy(),
        "nodes": NodeStrategy(cluster_cidr),
        "namespaces": NamespaceStrategy(),
        "services": ServiceStrategy(allocator),
        "deployments": WithStatus(),
        "replicasets": WithStatus(),
        "endpointslices": EndpointSliceStrategy(),
        "daemonsets": WithStatus(),
        "statefulsets": WithStatus(),
        "replicationcontrollers": WithStatus(),
        "jobs": JobStrategy(),
        "cronjobs": WithStatus(),
        "persistentvolumes": VolumeStrategy("kubernetes.io/pv-protection"),
        "persistentvolumeclaims": VolumeStrategy("kubernetes.io/pvc-protection"),
        "secrets": SecretStrategy(),
        "horizontalpodautoscalers": WithStatus(),
        "apiservices": WithStatus(),
    }
