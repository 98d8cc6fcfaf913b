"""What a node says about itself, shared by the real kubelet (kubelet/node.py) and the hollow nodes
(kubelet/hollow.py), so that a simulated node cannot drift from a real one. Imports only `apimachinery`.

parse_taint     `key[=value]:Effect` (kubectl taint syntax) -> a Node taint
node_status     capacity = allocatable, addresses, conditions, nodeInfo, daemonEndpoints
node_object     the Node to register
NodeLease       the node's Lease in kube-node-lease, renewed as the kubelet renews it
"""

from __future__ import annotations

from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, ignore_not_found, is_already_exists, is_conflict, is_not_found
from apimachinery.resources import must_resource
from apimachinery.timefmt import now_rfc3339

LEASE_NAMESPACE = "kube-node-lease"
LEASES = must_resource("coordination.k8s.io", "leases")
NAMESPACES = must_resource("", "namespaces")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

# condition -> (reason when fine, reason when under pressure, message when fine, message under pressure), as the
# kubelet's setters write them (pkg/kubelet/nodestatus).
_PRESSURE_TEXT = {
    "MemoryPressure": (
        "KubeletHasSufficientMemory",
        "KubeletHasInsufficientMemory",
        "kubelet has sufficient memory available",
        "kubelet has insufficient memory available",
    ),
    "DiskPressure": (
        "KubeletHasNoDiskPressure",
        "KubeletHasDiskPressure",
        "kubelet has no disk pressure",
        "kubelet has disk pressure",
    ),
    "PIDPressure": (
        "KubeletHasSufficientPID",
        "KubeletHasInsufficientPID",
        "kubelet has sufficient PID available",
        "kubelet has insufficient PID available",
    ),
}


def parse_taint(text: str) -> dict[str, str]:
    """`key=value:Effect` or `key:Effect` (kubectl taint syntax); ValueError for anything else."""
    spec, _, effect = text.rpartition(":")
    key, _, value = spec.partition("=")
    if not key or effect not in TAINT_EFFECTS:
        raise ValueError(f"invalid taint {text!r}: want key[=value]:NoSchedule|PreferNoSchedule|NoExecute")
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}


def node_conditions(
    old_conditions: dict[str, dict[str, Any]], now: str, pressure: dict[str, bool] | None = None
) -> list[dict[str, Any]]:
    """The pressure conditions and Ready; lastTransitionTime survives from `old_conditions` (by type) when a
    condition keeps its value."""
    pressure = pressure or {}

    def cond(ctype: str, value: bool, reason: str, message: str) -> dict[str, Any]:
        status = "True" if value else "False"
        prev = old_conditions.get(ctype) or {}
        return {
            "type": ctype,
            "status": status,
            "lastHeartbeatTime": now,
            "lastTransitionTime": (prev.get("lastTransitionTime") or now)
            if prev.get("status") == status
            else now,
            "reason": reason,
            "message": message,
        }

    conditions = []
    for ctype, (ok_reason, bad_reason, ok_text, bad_text) in _PRESSURE_TEXT.items():
        bad = pressure.get(ctype, False)
        conditions.append(cond(ctype, bad, bad_reason if bad else ok_reason, bad_text if bad else ok_text))
    conditions.append(cond("Ready", True, "KubeletReady", "kubelet is posting ready status"))
    return conditions


def node_status(
    *,
    name: str,
    node_ip: str,
    capacity: dict[str, str],
    node_info: dict[str, str],
    port: int,
    now: str,
    old_conditions: dict[str, dict[str, Any]] | None = None,
    pressure: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """The Node's status (allocatable = capacity: nothing is reserved)."""
    return {
        "capacity": dict(capacity),
        "allocatable": dict(capacity),
        "addresses": [{"type": "InternalIP", "address": node_ip}, {"type": "Hostname", "address": name}],
        "conditions": node_conditions(old_conditions or {}, now, pressure),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": node_info,
    }


def node_object(
    name: str,
    labels: dict[str, str],
    status: dict[str, Any],
    *,
    taints: list[dict[str, str]] | None = None,
    pod_cidr: str | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if pod_cidr:
        spec["podCIDR"] = pod_cidr
        spec["podCIDRs"] = [pod_cidr]
    if taints:
        spec["taints"] = taints
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Node", "metadata": metadata, "spec": spec, "status": status}


class NodeLease:
    """The node's Lease (the kubelet's heartbeat): `renew` updates the last Lease written, else the current one,
    else creates it (and kube-node-lease, when even that is missing)."""

    def __init__(self, client: Client, node_name: str, duration: int) -> None:
        self.client = client
        self.name = node_name
        self.duration = duration
        self._lease: dict[str, Any] | None = None

    async def renew(self, node_uid: str | None = None) -> None:
        spec = {
            "holderIdentity": self.name,
            "leaseDurationSeconds": self.duration,
            "renewTime": now_rfc3339(True),
        }
        if self._lease is not None:
            lease = {**self._lease, "spec": {**self._lease.get("spec", {}), **spec}}
            try:
                self._lease = await self.client.update(LEASES, lease, LEASE_NAMESPACE)
                return
            except StatusError as exc:
                if not (is_not_found(exc) or is_conflict(exc)):
                    raise
                self._lease = None
        with ignore_not_found():
            current = await self.client.get(LEASES, self.name, LEASE_NAMESPACE)
            current["spec"] = {**current.get("spec", {}), **spec}
            self._lease = await self.client.update(LEASES, current, LEASE_NAMESPACE)
            return
        await self._create(spec, node_uid)

    async def _create(self, spec: dict[str, Any], node_uid: str | None) -> None:
        owner = [{"apiVersion": "v1", "kind": "Node", "name": self.name, "uid": node_uid}] if node_uid else []
        lease_obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE, "ownerReferences": owner},
            "spec": {**spec, "acquireTime": spec["renewTime"]},
        }
        try:
            self._lease = await self.client.create(LEASES, lease_obj, LEASE_NAMESPACE)
        except StatusError as exc:
            if not is_not_found(exc):  # 404: the namespace does not exist yet
                raise
            try:
                await self.client.create(NAMESPACES, {"metadata": {"name": LEASE_NAMESPACE}})
            except StatusError as ns_exc:
                if not is_already_exists(ns_exc):
                    raise
            self._lease = await self.client.create(LEASES, lease_obj, LEASE_NAMESPACE)
