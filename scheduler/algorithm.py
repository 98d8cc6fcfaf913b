"""One scheduling decision: filter every node, score the feasible ones, pick the best (ties at random).

`schedule` is pure apart from the random tie-break (pass a seeded `random.Random` for determinism).
When no node fits, the result carries the FailedScheduling summary in Kubernetes' format:
"0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: infra}."
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from scheduler.filters import run_filters
from scheduler.nodeinfo import NodeInfo, PodInfo
from scheduler.scores import ScoreContext, score_nodes

NO_NODES_MESSAGE = "no nodes available to schedule pods"


@dataclass
class ScheduleResult:
    node: str | None
    message: str = ""
    reasons: Counter[str] = field(default_factory=Counter)
    evaluated: int = 0
    feasible: int = 0


def failure_message(total_nodes: int, reasons: Counter[str]) -> str:
    """Kubernetes' FitError text: the reason histogram as "count reason" strings, sorted as strings."""
    if total_nodes == 0:
        return NO_NODES_MESSAGE
    histogram = sorted(f"{count} {reason}" for reason, count in reasons.items())
    message = f"0/{total_nodes} nodes are available:"
    if histogram:
        message += f" {', '.join(histogram)}."
    return message


def select_host(nodes: list[NodeInfo], scores: list[int], rng: random.Random) -> NodeInfo:
    """The highest score; ties broken uniformly at random (reservoir sampling, as Kubernetes does)."""
    best_index, best_score, ties = 0, scores[0], 1
    for i in range(1, len(nodes)):
        if scores[i] > best_score:
            best_index, best_score, ties = i, scores[i], 1
        elif scores[i] == best_score:
            ties += 1
            if rng.randrange(ties) == 0:
                best_index = i
    return nodes[best_index]


def schedule(
    pod: PodInfo,
    nodes: Iterable[NodeInfo],
    ctx: ScoreContext | None = None,
    rng: random.Random | None = None,
    extra_filter: Callable[[NodeInfo], list[str]] | None = None,
) -> ScheduleResult:
    """`extra_filter` runs after the plugin filters (the volume binding filter, which needs the claim caches)."""
    rng = rng or random.Random()
    reasons: Counter[str] = Counter()
    feasible: list[NodeInfo] = []
    total = 0
    for node in nodes:
        if node.node is None:  # pods seen on a node the informer has not delivered yet
            continue
        total += 1
        failed = run_filters(pod, node) or (extra_filter(node) if extra_filter is not None else [])
        if failed:
            reasons.update(failed)
        else:
            feasible.append(node)
    if not feasible:
        return ScheduleResult(None, failure_message(total, reasons), reasons, total, 0)
    if len(feasible) == 1:
        return ScheduleResult(feasible[0].name, evaluated=total, feasible=1)
    scores = score_nodes(pod, feasible, ctx)
    chosen = select_host(feasible, scores, rng)
    return ScheduleResult(chosen.name, evaluated=total, feasible=len(feasible))
