"""CPU and memory of a cgroup, read the way cAdvisor reads them for the kubelet, on cgroup v1 and v2.

Where a container's cgroup is: the kernel says so in /proc/<pid>/cgroup of the container's first process (one line
per v1 hierarchy, `0::<path>` for v2); the hierarchies' mount points come from /proc/self/mountinfo. When the
process is gone or unreadable, Docker's own naming is used instead: with the cgroupfs driver
`<CgroupParent or /docker>/<id>`, with systemd `<CgroupParent or system.slice>/docker-<id>.scope`.

* CPU: cumulative nanoseconds (v1 `cpuacct.usage`, v2 `usage_usec` of `cpu.stat`).
* Memory: usage (v1 `memory.usage_in_bytes`, v2 `memory.current`); working set = usage - inactive_file, never
  below 0 (the kubelet's eviction and metrics-server use this figure); rss (v1 `total_rss`, v2 `anon`); page faults.

Every path read here is built from a mount point and a cgroup path that is checked to stay inside it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")
_CGROUP_PATH = re.compile(r"/[A-Za-z0-9_.:@=+/-]*")


class CgroupError(OSError):
    """A cgroup could not be found or read."""


@dataclass(frozen=True)
class CpuUsage:
    usage_ns: int


@dataclass(frozen=True)
class MemoryUsage:
    usage: int
    working_set: int
    rss: int
    page_faults: int
    major_page_faults: int


@dataclass
class Hierarchies:
    """Where the cgroup hierarchies are mounted: v1 controller -> (mount point, mount root), and the v2 mount."""

    v1: dict[str, tuple[Path, str]] = field(default_factory=dict)
    v2: tuple[Path, str] | None = None

    @property
    def version(self) -> int:
        return 1 if "cpuacct" in self.v1 and "memory" in self.v1 else 2


def read_hierarchies(mountinfo: str = "/proc/self/mountinfo") -> Hierarchies:
    found = Hierarchies()
    with open(mountinfo, encoding="utf-8") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, extra = left.split(), right.split()
            if len(fields) < 5 or len(extra) < 3:
                continue
            root, mount_point, fstype = fields[3], Path(fields[4]), extra[0]
            if fstype == "cgroup2" and found.v2 is None:
                found.v2 = (mount_point, root)
            elif fstype == "cgroup":
                for option in extra[2].split(","):
                    if option in ("cpuacct", "memory", "cpu") and option not in found.v1:
                        found.v1[option] = (mount_point, root)
    return found


def proc_cgroups(pid: int, proc: str = "/proc") -> dict[str, str]:
    """controller -> cgroup path of the process (`""` is the v2 unified hierarchy)."""
    if not isinstance(pid, int) or pid <= 0:
        raise CgroupError(f"no such process {pid!r}")
    paths: dict[str, str] = {}
    try:
        with open(f"{proc}/{pid}/cgroup", encoding="utf-8") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    paths[c] = path
    except (OSError, ValueError) as exc:
        raise CgroupError(f"cgroup of process {pid}: {exc}") from exc
    return paths


def docker_cgroup_path(container_id: str, driver: str, parent: str = "") -> str:
    """Docker's cgroup for a container when its process cannot tell (the path under each hierarchy)."""
    if not _CONTAINER_ID.fullmatch(container_id):
        raise CgroupError(f"not a container id: {container_id[:80]!r}")
    if driver == "systemd":
        slice_ = parent or "system.slice"
        return f"/{slice_.strip('/')}/docker-{container_id}.scope"
    return f"/{(parent or '/docker').strip('/')}/{container_id}"


class Cgroup:
    """One cgroup's CPU and memory files (v1: under the cpuacct and memory hierarchies; v2: one directory)."""

    def __init__(self, hierarchies: Hierarchies, paths: dict[str, str]) -> None:
        self.version = hierarchies.version
        self.path = paths.get("memory" if self.version == 1 else "", "")  # cAdvisor's `id` label
        if self.version == 1:
            self.cpu_dir = _within(hierarchies.v1["cpuacct"], paths.get("cpuacct", paths.get("cpu", "")))
            self.memory_dir = _within(hierarchies.v1["memory"], paths.get("memory", ""))
        else:
            if hierarchies.v2 is None:
                raise CgroupError("no cgroup2 hierarchy is mounted")
            self.cpu_dir = self.memory_dir = _within(hierarchies.v2, paths.get("", ""))

    @classmethod
    def for_path(cls, hierarchies: Hierarchies, path: str) -> Cgroup:
        """The same cgroup path in every hierarchy (Docker's naming)."""
        return cls(hierarchies, {"cpuacct": path, "memory": path, "": path})

    def exists(self) -> bool:
        return self.cpu_dir.is_dir() and self.memory_dir.is_dir()

    def cpu(self) -> CpuUsage:
        if self.version == 1:
            return CpuUsage(int(_read(self.cpu_dir / "cpuacct.usage")))
        stat = _flat_keyed(self.cpu_dir / "cpu.stat")
        return CpuUsage(stat.get("usage_usec", 0) * 1000)

    def memory(self) -> MemoryUsage:
        if self.version == 1:
            usage = int(_read(self.memory_dir / "memory.usage_in_bytes"))
            stat = _flat_keyed(self.memory_dir / "memory.stat")
            inactive, rss = stat.get("total_inactive_file", 0), stat.get("total_rss", 0)
            faults, major = stat.get("total_pgfault", 0), stat.get("total_pgmajfault", 0)
        else:
            usage = int(_read(self.memory_dir / "memory.current"))
            stat = _flat_keyed(self.memory_dir / "memory.stat")
            inactive, rss = stat.get("inactive_file", 0), stat.get("anon", 0)
            faults, major = stat.get("pgfault", 0), stat.get("pgmajfault", 0)
        return MemoryUsage(usage, max(usage - inactive, 0), rss, faults, major)


def _within(hierarchy: tuple[Path, str], path: str) -> Path:
    """The directory of cgroup `path` under a hierarchy mounted at mount point with mount root `root` (a cgroup
    namespace or a bind mount shows only part of the tree: the path is relative to that root)."""
    mount_point, root = hierarchy
    if not _CGROUP_PATH.fullmatch(path) or "/../" in path + "/" or "/./" in path + "/":
        raise CgroupError(f"not a cgroup path: {path[:120]!r}")
    if root != "/" and (path == root or path.startswith(root + "/")):
        path = path[len(root) :] or "/"
    return mount_point / path.lstrip("/")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise CgroupError(f"{path}: {exc.strerror}") from exc


def _flat_keyed(path: Path) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.isdigit():
            values[key] = int(value)
    return values


# -- the node as a whole -------------------------------------------------------------------------------------------


def node_cpu(proc: str = "/proc") -> CpuUsage:
    """CPU time the machine spent busy (user, nice, system, irq, softirq, steal), in nanoseconds, from /proc/stat."""
    with open(f"{proc}/stat", encoding="ascii") as f:
        first = f.readline().split()
    ticks = [int(v) for v in first[1:9]]
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
    return CpuUsage(busy * 1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def node_memory(proc: str = "/proc") -> tuple[MemoryUsage, int, int]:
    """(usage, MemAvailable, MemTotal) from /proc/meminfo: usage = total - free, working set = usage - inactive
    file pages, rss = anonymous pages."""
    info: dict[str, int] = {}
    with open(f"{proc}/meminfo", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                info[key] = int(parts[0]) * (1024 if parts[-1] == "kB" else 1)
    total = info.get("MemTotal", 0)
    usage = total - info.get("MemFree", 0)
    working_set = max(usage - info.get("Inactive(file)", 0), 0)
    rss = info.get("AnonPages", 0)
    return MemoryUsage(usage, working_set, rss, 0, 0), info.get("MemAvailable", 0), total


def boot_time(proc: str = "/proc") -> float:
    with open(f"{proc}/stat", encoding="ascii") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0
