"""CPU time per operation, by process, for bench/apiserver.py: where a create's CPU goes on a machine whose cores
the load generator, the server and etcd share.

    meter = CpuMeter({"client": [os.getpid()], "server": [pid], "etcd": [etcd_pid]}, alone=["client"])
    before = meter.read(); ...n operations...; used = meter.per_op(before, meter.read(), n)
    -> {"client": us, "server": us, "etcd": us, "machine_busy": fraction of all cores busy meanwhile}

A process counts with its live descendants (granian's workers); times come from /proc (utime + stime).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def stat_seconds(stat: str, tick: int = TICK) -> float:
    """utime + stime in seconds from a /proc/<pid>/stat line (the command name may hold spaces and parentheses:
    the fields after it are counted from its closing parenthesis)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / tick


def machine_jiffies(stat: str) -> tuple[int, int]:
    """(busy, total) jiffies of all cores from /proc/stat's first line (idle and iowait are not busy)."""
    values = [int(v) for v in stat.split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # guest time is already counted in user
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return total - idle, total


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


def process_seconds(pids: Iterable[int], *, children: bool = True) -> float:
    """CPU seconds used so far by `pids` (with their descendants unless `children` is false)."""
    total = 0.0
    for pid in {d for p in pids for d in (descendants(p) if children else [p])}:
        try:
            total += stat_seconds(Path(f"/proc/{pid}/stat").read_text())
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


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
            role: process_seconds(pids, children=role not in self.alone) for role, pids in self.roles.items()
        }
        return Reading(seconds, busy, total)

    @staticmethod
    def per_op(before: Reading, after: Reading, ops: int) -> dict[str, float]:
        """Microseconds of CPU per operation by role, and the machine's busy fraction between the readings."""
        used = {role: 1e6 * (after.seconds[role] - before.seconds[role]) / ops for role in after.seconds}
        total = after.total - before.total
        used["machine_busy"] = (after.busy - before.busy) / total if total else 0.0
        return used
