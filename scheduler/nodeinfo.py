"""What the scheduler knows about one pod and one node, precomputed once per object change.

`PodInfo` holds the facts that filters and scores read from a pod (requests, host ports, tolerations, owner).
`NodeInfo` aggregates a node with the pods on it (bound or assumed): summed requests, used host ports and
per-owner pod counts. Filters and scores are pure functions of (`PodInfo`, `NodeInfo`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scheduler.resources import CPU, MEMORY, node_allocatable, pod_nonzero_requests, pod_requests

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"

HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


def pod_key(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def controller_uid(pod: dict[str, Any]) -> str | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid") or f"{ref.get('kind')}/{ref.get('name')}")
    return None


def host_ports(pod: dict[str, Any]) -> list[HostPort]:
    ports: list[HostPort] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            host_port = int(port.get("hostPort") or 0)
            if host_port > 0:
                ports.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP", host_port))
    return ports


@dataclass
class PodInfo:
    """A pod with the facts scheduling needs, parsed once."""

    pod: dict[str, Any]
    key: str = ""
    namespace: str = "default"
    labels: dict[str, str] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    nonzero_cpu: int = 0
    nonzero_memory: int = 0
    ports: list[HostPort] = field(default_factory=list)
    owner: str | None = None
    # Derived once for the filters and scores that run per node:
    request_order: list[tuple[str, int]] = field(default_factory=list)  # pods, cpu, memory, then by name
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    required_affinity: dict[str, Any] | None = None
    preferred_affinity: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, pod: dict[str, Any]) -> PodInfo:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        cpu, memory = pod_nonzero_requests(pod)
        requests = pod_requests(pod)
        return cls(
            pod=pod,
            key=pod_key(pod),
            namespace=meta.get("namespace") or "default",
            labels=dict(meta.get("labels") or {}),
            requests=requests,
            nonzero_cpu=cpu,
            nonzero_memory=memory,
            ports=host_ports(pod),
            owner=controller_uid(pod),
            request_order=sorted(requests.items(), key=lambda kv: (kv[0] != CPU, kv[0] != MEMORY, kv[0])),
            tolerations=list(spec.get("tolerations") or []),
            node_selector=dict(spec.get("nodeSelector") or {}),
            required_affinity=node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution"),
            preferred_affinity=list(
                node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
            ),
        )

    @property
    def spec(self) -> dict[str, Any]:
        return self.pod.get("spec") or {}


def _node_ready_taint(node: dict[str, Any]) -> dict[str, str] | None:
    """The taint the node lifecycle controller would put on a node that is not Ready, if it is not Ready.

    The scheduler does not wait for that controller: a node whose Ready condition is False (or missing) counts
    as tainted not-ready:NoSchedule, Unknown as unreachable:NoSchedule, so its failure reads like Kubernetes'.
    """
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            status = condition.get("status")
            if status == "True":
                return None
            key = UNREACHABLE_TAINT if status == "Unknown" else NOT_READY_TAINT
            return {"key": key, "effect": "NoSchedule"}
    return {"key": NOT_READY_TAINT, "effect": "NoSchedule"}


class NodeInfo:
    """A node plus the pods placed on it (bound or assumed), with running totals for filters and scores."""

    def __init__(self, name: str, node: dict[str, Any] | None = None) -> None:
        self.name = name
        self.node: dict[str, Any] | None = None
        self.labels: dict[str, str] = {}
        self.taints: list[dict[str, Any]] = []
        self.hard_taints: list[dict[str, Any]] = []  # NoSchedule and NoExecute: the filter's
        self.soft_taints: list[dict[str, Any]] = []  # PreferNoSchedule: the score's
        self.unschedulable = False
        self.allocatable: dict[str, int] = {}
        self.pods: dict[str, PodInfo] = {}
        self.requested: dict[str, int] = {}
        self.nonzero_cpu = 0
        self.nonzero_memory = 0
        self.used_ports: Counter[HostPort] = Counter()
        self.owners: Counter[str] = Counter()
        if node is not None:
            self.set_node(node)

    @classmethod
    def build(cls, node: dict[str, Any], pods: list[dict[str, Any]] = ()) -> NodeInfo:  # type: ignore[assignment]
        """A NodeInfo for `node` holding `pods` (for tests and one-off evaluations)."""
        info = cls(node["metadata"]["name"], node)
        for pod in pods:
            info.add_pod(PodInfo.of(pod))
        return info

    def set_node(self, node: dict[str, Any]) -> None:
        self.node = node
        spec = node.get("spec") or {}
        self.labels = dict((node.get("metadata") or {}).get("labels") or {})
        self.unschedulable = bool(spec.get("unschedulable"))
        taints = list(spec.get("taints") or [])
        ready_taint = _node_ready_taint(node)
        if ready_taint and not any(t.get("key") == ready_taint["key"] for t in taints):
            taints.append(ready_taint)
        self.taints = taints
        self.hard_taints = [t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")]
        self.soft_taints = [t for t in taints if t.get("effect") == "PreferNoSchedule"]
        self.allocatable = node_allocatable(node)

    def add_pod(self, info: PodInfo) -> None:
        if info.key in self.pods:
            self.remove_pod(info.key)
        self.pods[info.key] = info
        for name, value in info.requests.items():
            self.requested[name] = self.requested.get(name, 0) + value
        self.nonzero_cpu += info.nonzero_cpu
        self.nonzero_memory += info.nonzero_memory
        self.used_ports.update(info.ports)
        if info.owner:
            self.owners[info.owner] += 1

    def remove_pod(self, key: str) -> PodInfo | None:
        info = self.pods.pop(key, None)
        if info is None:
            return None
        for name, value in info.requests.items():
            self.requested[name] = self.requested.get(name, 0) - value
        self.nonzero_cpu -= info.nonzero_cpu
        self.nonzero_memory -= info.nonzero_memory
        if info.ports:
            self.used_ports.subtract(info.ports)
            self.used_ports = +self.used_ports  # drop zero counts
        if info.owner:
            self.owners[info.owner] -= 1
            if self.owners[info.owner] <= 0:
                del self.owners[info.owner]
        return info
