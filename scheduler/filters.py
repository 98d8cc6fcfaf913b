"""Filter plugins: can this pod run on this node? Pure functions of (PodInfo, NodeInfo).

Each filter returns the list of reasons the node does not fit (empty when it fits), in Kubernetes' words, so
that the FailedScheduling summary reads like kube-scheduler's. `FILTERS` runs in Kubernetes' plugin order and
`run_filters` stops at the first filter that fails, as the Kubernetes framework does.
"""

from __future__ import annotations

from collections.abc import Callable

from apimachinery.nodeselection import match_node_selector, tolerated
from scheduler.nodeinfo import UNSCHEDULABLE_TAINT, HostPort, NodeInfo, PodInfo
from scheduler.resources import PODS

ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_PORTS = "node(s) didn't have free ports for the requested pod ports"
ERR_TOO_MANY_PODS = "Too many pods"
ERR_TAINT = "node(s) had untolerated taint {{{key}: {value}}}"

Filter = Callable[[PodInfo, NodeInfo], list[str]]

_UNSCHEDULABLE = {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}


def node_unschedulable(pod: PodInfo, node: NodeInfo) -> list[str]:
    """A cordoned node (spec.unschedulable) takes only pods that tolerate the unschedulable taint."""
    if node.unschedulable and not tolerated(pod.tolerations, _UNSCHEDULABLE):
        return [ERR_UNSCHEDULABLE]
    return []


def taint_toleration(pod: PodInfo, node: NodeInfo) -> list[str]:
    """The first NoSchedule/NoExecute taint the pod does not tolerate (not-Ready counts as a taint)."""
    for taint in node.hard_taints:
        if not tolerated(pod.tolerations, taint):
            return [ERR_TAINT.format(key=taint.get("key") or "", value=taint.get("value") or "")]
    return []


def node_affinity(pod: PodInfo, node: NodeInfo) -> list[str]:
    """spec.nodeSelector and required node affinity, both of which must match."""
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return [ERR_AFFINITY]
    required = pod.required_affinity
    if required is not None and not match_node_selector(required, labels, node.name):
        return [ERR_AFFINITY]
    return []


def _conflicts(want: HostPort, used: HostPort) -> bool:
    ip, protocol, port = want
    used_ip, used_protocol, used_port = used
    if port != used_port or protocol != used_protocol:
        return False
    return ip == used_ip or "0.0.0.0" in (ip, used_ip)


def node_ports(pod: PodInfo, node: NodeInfo) -> list[str]:
    """A host port (protocol, port) is taken when the same port is bound on the same IP or on 0.0.0.0."""
    if not pod.ports or not node.used_ports:
        return []
    for want in pod.ports:
        if any(_conflicts(want, used) for used in node.used_ports):
            return [ERR_PORTS]
    return []


def node_resources_fit(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Requests of the pod plus those of the node's pods (bound and assumed) against allocatable."""
    reasons: list[str] = []
    allocatable, requested = node.allocatable, node.requested
    if len(node.pods) + 1 > allocatable.get(PODS, 0):
        reasons.append(ERR_TOO_MANY_PODS)
    for name, want in pod.request_order:
        if want > 0 and want > allocatable.get(name, 0) - requested.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


FILTERS: tuple[tuple[str, Filter], ...] = (
    ("NodeUnschedulable", node_unschedulable),
    ("TaintToleration", taint_toleration),
    ("NodeAffinity", node_affinity),
    ("NodePorts", node_ports),
    ("NodeResourcesFit", node_resources_fit),
)


def run_filters(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Reasons from the first failing filter; an empty list means the pod fits the node."""
    if node.node is None:
        return ["node(s) not found"]
    for _name, check in FILTERS:
        reasons = check(pod, node)
        if reasons:
            return reasons
    return []
