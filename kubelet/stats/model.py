"""What one round of stats collection found: the node, its pods and their running containers (all figures as read,
with the wall-clock time they were read at). The Summary API and the Prometheus endpoints are views of this."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubelet.stats.cgroups import MemoryUsage
from kubelet.stats.netdev import InterfaceStats


@dataclass(frozen=True)
class Usage:
    """CPU and memory of one cgroup (or a sum of them) at `time` (seconds since the epoch)."""

    time: float
    cpu_ns: int  # cumulative CPU time, nanoseconds
    nano_cores: int | None  # the rate since the previous round (None in the first round)
    memory: MemoryUsage


@dataclass(frozen=True)
class FsUsage:
    used_bytes: int
    capacity_bytes: int | None = None
    available_bytes: int | None = None
    inodes: int | None = None
    inodes_free: int | None = None
    inodes_used: int | None = None


@dataclass
class ContainerStats:
    id: str
    name: str
    image: str
    start_time: float
    usage: Usage
    cgroup: str = ""  # the cgroup path (cAdvisor's `id`)
    docker_name: str = ""
    memory_limit: int | None = None
    rootfs: FsUsage | None = None
    logs: FsUsage | None = None


@dataclass
class PodStats:
    name: str
    namespace: str
    uid: str
    start_time: float
    sandbox_id: str
    containers: list[ContainerStats]
    usage: Usage  # sandbox and containers together (a pod's cgroup, as upstream counts it)
    network_time: float = 0.0
    interfaces: list[InterfaceStats] = field(default_factory=list)

    def ephemeral_bytes(self) -> int | None:
        """Writable layers and logs of the containers, when Docker has told their sizes."""
        known = [fs.used_bytes for c in self.containers for fs in (c.rootfs, c.logs) if fs is not None]
        return sum(known) if known else None


@dataclass
class NodeStats:
    name: str
    start_time: float
    usage: Usage
    memory_available: int
    memory_total: int
    network_time: float = 0.0
    interfaces: list[InterfaceStats] = field(default_factory=list)
    fs: FsUsage | None = None
    image_fs: FsUsage | None = None


@dataclass
class Snapshot:
    node: NodeStats | None = None
    pods: list[PodStats] = field(default_factory=list)
    errors: int = 0  # containers (or the node) that could not be read in the last round
