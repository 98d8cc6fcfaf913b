"""The last two samples of every node and container, and the usage metrics-server reports from them.

CPU is a rate: the difference of two cumulative readings over the time between them (metrics-server's
`resourceUsage`), so a node or container has CPU usage only from its second scrape on. A container whose start
time changed, or whose counter went down, restarted: its older sample is dropped, not subtracted. Memory is the
newest working set. A pod is reported only when every one of its containers has a rate (as upstream: no partial
pods), with the newest container timestamp and the shortest window.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics_server.scrape import NodeScrape, Sample

ContainerKey = tuple[str, str, str]  # namespace, pod, container


@dataclass(frozen=True)
class Usage:
    timestamp: float  # the newer sample's time, epoch seconds
    window: float  # seconds between the two samples
    nanocores: int
    memory_bytes: int


def usage(older: Sample | None, newer: Sample) -> Usage | None:
    if older is None or newer.cpu_seconds is None or older.cpu_seconds is None:
        return None
    window = newer.time - older.time
    if window <= 0 or newer.cpu_seconds < older.cpu_seconds:
        return None
    if older.start_time is not None and newer.start_time is not None and older.start_time != newer.start_time:
        return None
    rate = (newer.cpu_seconds - older.cpu_seconds) / window
    return Usage(newer.time, window, round(rate * 1e9), round(newer.memory_bytes or 0))


def _keep(pair: tuple[Sample | None, Sample] | None, new: Sample) -> tuple[Sample | None, Sample]:
    """The pair after `new` arrives: a repeated reading (same time) keeps the pair as it was."""
    previous, latest = pair if pair is not None else (None, None)
    if latest is not None and new.time == latest.time:
        return previous, latest
    if latest is not None and (
        (new.cpu_seconds or 0) < (latest.cpu_seconds or 0)
        or (
            latest.start_time is not None
            and new.start_time is not None
            and latest.start_time != new.start_time
        )
    ):
        return None, new  # restarted: start over
    return latest, new


class Storage:
    def __init__(self) -> None:
        self._nodes: dict[str, tuple[Sample | None, Sample]] = {}
        self._containers: dict[ContainerKey, tuple[Sample | None, Sample]] = {}
        self.rounds = 0

    def store(self, scrapes: dict[str, NodeScrape]) -> None:
        """One round of scrapes. Nodes and containers that are no longer reported are forgotten."""
        nodes: dict[str, tuple[Sample | None, Sample]] = {}
        containers: dict[ContainerKey, tuple[Sample | None, Sample]] = {}
        for name, scrape in scrapes.items():
            if scrape.node is not None:
                nodes[name] = _keep(self._nodes.get(name), scrape.node)
            for key, sample in scrape.containers.items():
                containers[key] = _keep(self._containers.get(key), sample)
        self._nodes, self._containers = nodes, containers
        self.rounds += 1

    def node_usage(self, name: str) -> Usage | None:
        pair = self._nodes.get(name)
        return usage(*pair) if pair else None

    def pod_usage(
        self, namespace: str, pod: str, containers: list[str]
    ) -> tuple[float, float, dict[str, Usage]] | None:
        """(timestamp, window, usage by container) of a pod with these containers, or None until all have one."""
        found: dict[str, Usage] = {}
        for name in containers:
            pair = self._containers.get((namespace, pod, name))
            got = usage(*pair) if pair else None
            if got is None:
                return None
            found[name] = got
        if not found:
            return None
        return max(u.timestamp for u in found.values()), min(u.window for u in found.values()), found

    @property
    def ready(self) -> bool:
        """Whether a round of scrapes has been stored (usage comes with the second; an empty cluster is ready)."""
        return self.rounds > 0
