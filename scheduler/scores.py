"""Score plugins: how well does a feasible node suit the pod? Pure functions; 0-100 after normalisation.

Each plugin gives a raw score per node; plugins whose raw score is a count or a sum of weights are normalised
over the feasible nodes (Kubernetes' DefaultNormalizeScore, reversed where fewer is better). The node's total is
the weighted sum, with Kubernetes' default weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from apimachinery.nodeselection import match_term, tolerated
from scheduler.nodeinfo import NodeInfo, PodInfo
from scheduler.resources import CPU, MEMORY

MAX_NODE_SCORE = 100


@dataclass
class ScoreContext:
    """Per-pod inputs that do not come from the node: label selectors of the services selecting the pod."""

    service_selectors: list[dict[str, str]] = field(default_factory=list)


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """Free share of cpu and memory after placing the pod (request-less containers count as 100m/200Mi)."""

    def free(requested: int, capacity: int) -> int:
        if capacity <= 0 or requested > capacity:
            return 0
        return (capacity - requested) * MAX_NODE_SCORE // capacity

    cpu = free(node.nonzero_cpu + pod.nonzero_cpu, node.allocatable.get(CPU, 0))
    memory = free(node.nonzero_memory + pod.nonzero_memory, node.allocatable.get(MEMORY, 0))
    return (cpu + memory) // 2


def balanced_allocation(pod: PodInfo, node: NodeInfo) -> int:
    """100 when cpu and memory would be equally used (by fraction of allocatable), less the more they differ."""
    allocatable, requested = node.allocatable, node.requested
    cpu_capacity, memory_capacity = allocatable.get(CPU, 0), allocatable.get(MEMORY, 0)
    if cpu_capacity <= 0 or memory_capacity <= 0:
        return MAX_NODE_SCORE
    cpu = min(1.0, (requested.get(CPU, 0) + pod.requests.get(CPU, 0)) / cpu_capacity)
    memory = min(1.0, (requested.get(MEMORY, 0) + pod.requests.get(MEMORY, 0)) / memory_capacity)
    std = abs(cpu - memory) / 2
    return int((1 - std) * MAX_NODE_SCORE)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selector_spread_count(pod: PodInfo, node: NodeInfo, ctx: ScoreContext) -> int:
    """Pods on the node from the same controller (owner) or selected by a service that selects this pod."""
    if not ctx.service_selectors:
        return node.owners.get(pod.owner, 0) if pod.owner else 0
    count = 0
    for other in node.pods.values():
        if other.namespace != pod.namespace:
            continue
        if (pod.owner and other.owner == pod.owner) or any(
            _selects(selector, other.labels) for selector in ctx.service_selectors
        ):
            count += 1
    return count


def preferred_node_affinity(pod: PodInfo, node: NodeInfo) -> int:
    """Sum of the weights of the preferred node-affinity terms the node matches."""
    preferred = pod.preferred_affinity
    if not preferred:
        return 0
    return sum(
        int(p.get("weight") or 0)
        for p in preferred
        if match_term(p.get("preference"), node.labels, node.name)
    )


def prefer_no_schedule_count(pod: PodInfo, node: NodeInfo) -> int:
    """PreferNoSchedule taints the pod does not tolerate (tolerations for other effects do not count)."""
    if not node.soft_taints:
        return 0
    tolerations = [t for t in pod.tolerations if (t.get("effect") or "") in ("", "PreferNoSchedule")]
    return sum(1 for taint in node.soft_taints if not tolerated(tolerations, taint))


def normalize(raw: Sequence[int], reverse: bool = False) -> list[int]:
    """Scale to 0-100 by the maximum (Kubernetes' DefaultNormalizeScore); `reverse` makes fewer better."""
    top = max(raw, default=0)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0 for _ in raw]
    scaled = [MAX_NODE_SCORE * value // top for value in raw]
    return [MAX_NODE_SCORE - value for value in scaled] if reverse else scaled


RawScore = Callable[[PodInfo, NodeInfo, ScoreContext], int]


@dataclass(frozen=True)
class ScorePlugin:
    name: str
    weight: int
    raw: RawScore
    normalized: bool = False  # raw is a count or weight sum, scaled over the feasible nodes
    reverse: bool = False
    # False when every node's raw score would be 0 for this pod: skip the per-node work, same totals.
    applies: Callable[[PodInfo, ScoreContext], bool] | None = None


SCORES: tuple[ScorePlugin, ...] = (
    ScorePlugin("NodeResourcesLeastAllocated", 1, lambda p, n, c: least_allocated(p, n)),
    ScorePlugin("NodeResourcesBalancedAllocation", 1, lambda p, n, c: balanced_allocation(p, n)),
    ScorePlugin(
        "SelectorSpread",
        2,
        selector_spread_count,
        normalized=True,
        reverse=True,
        applies=lambda p, c: bool(p.owner or c.service_selectors),
    ),
    ScorePlugin(
        "NodeAffinity",
        2,
        lambda p, n, c: preferred_node_affinity(p, n),
        normalized=True,
        applies=lambda p, c: bool(p.preferred_affinity),
    ),
    ScorePlugin(
        "TaintToleration", 3, lambda p, n, c: prefer_no_schedule_count(p, n), normalized=True, reverse=True
    ),
)


def score_nodes(
    pod: PodInfo,
    nodes: Sequence[NodeInfo],
    ctx: ScoreContext | None = None,
    plugins: Sequence[ScorePlugin] = SCORES,
) -> list[int]:
    """Weighted total per node, in the order of `nodes`."""
    ctx = ctx or ScoreContext()
    totals = [0] * len(nodes)
    for plugin in plugins:
        if plugin.applies is not None and not plugin.applies(pod, ctx):
            raw = [0] * len(nodes)
        else:
            raw = [plugin.raw(pod, node, ctx) for node in nodes]
        scores = normalize(raw, plugin.reverse) if plugin.normalized else raw
        for i, score in enumerate(scores):
            totals[i] += plugin.weight * score
    return totals
