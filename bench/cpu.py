"""CPU time from /proc, for the benchmarks that say where the machine's CPU went while they measured: of one
process (with its waited-for children if asked), of processes with their live descendants, and of the whole
machine.

    before = snapshot({"apiserver": pid, "etcd": etcd_pid}); ...; used = spent(before, snapshot(...))
    meter = CpuMeter({"client": [os.getpid()], "server": [pid]}, alone=["client"])
    before = meter.read(); ...n operations...; per_op = meter.per_op(before, meter.read(), n)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def stat_seconds(stat: str, tick: int = TICK, *, waited_children: bool = False) -> float:
    """utime + stime in seconds from a /proc/<pid>/stat line, with cutime + cstime (the children it has waited
    for) if asked. The command name may hold spaces and parentheses: fields are counted from its closing one."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(x) for x in fields[11 : 15 if waited_children else 13]) / tick


def machine_jiffies(stat: str) -> tuple[int, int]:
    """(busy, total) jiffies of all cores from /proc/stat's first line (idle and iowait are not busy)."""
    values = [int(v) for v in stat.split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # guest time is already counted in user
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return total - idle, total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy so far."""
    return machine_jiffies(Path("/proc/stat").read_text())[0] / TICK


def process_seconds(pid: int | None, *, children: bool = False) -> float:
    """CPU seconds of one process so far (0.0 when it is gone or unknown); with `children`, of the children it
    has waited for too (a kubelet's CNI plugins)."""
    if pid is None:
        return 0.0
    try:
        return stat_seconds(Path(f"/proc/{pid}/stat").read_text(), waited_children=children)
    except (OSError, ValueError):
        return 0.0


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it."""
    found, queue = [], [pid]
    while queue:
        p = queue.pop()
        found.append(p)
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                queue.extend(int(c) for c in children.read_text().split())
            except OSError:
                continue
    return found


def tree_seconds(pids: Iterable[int], *, with_descendants: bool = True) -> float:
    """CPU seconds used so far by `pids`, with their live descendants unless told not to (a server's workers)."""
    tree = {d for p in pids for d in (descendants(p) if with_descendants else [p])}
    return sum(process_seconds(pid) for pid in tree)


def snapshot(pids: Mapping[str, int | None], *, children: bool = False) -> dict[str, float]:
    """CPU seconds so far of each named process, and of the whole machine under "machine"."""
    taken = {name: process_seconds(pid, children=children) for name, pid in pids.items()}
    return taken | {"machine": machine_busy_seconds()}


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds spent between two snapshots, by name."""
    return {name: after[name] - before[name] for name in before}


@dataclass(frozen=True)
class Reading:
    seconds: dict[str, float]
    busy: int
    total: int


class CpuMeter:
    """`roles`: name -> PIDs counted with their descendants, except the roles in `alone` (the benchmark's own
    process, whose children are the servers it measures)."""

    def __init__(self, roles: Mapping[str, Iterable[int]], *, alone: Iterable[str] = ()) -> None:
        self.roles = {role: list(pids) for role, pids in roles.items()}
        self.alone = set(alone)

    def read(self) -> Reading:
        busy, total = machine_jiffies(Path("/proc/stat").read_text())
        seconds = {
            role: tree_seconds(pids, with_descendants=role not in self.alone)
            for role, pids in self.roles.items()
        }
        return Reading(seconds, busy, total)

    @staticmethod
    def per_op(before: Reading, after: Reading, ops: int) -> dict[str, float]:
        """Microseconds of CPU per operation by role, and the machine's busy fraction between the readings."""
        used = {role: 1e6 * (after.seconds[role] - before.seconds[role]) / ops for role in after.seconds}
        total = after.total - before.total
        used["machine_busy"] = (after.busy - before.busy) / total if total else 0.0
        return used
