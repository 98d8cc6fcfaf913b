"""CPU time from /proc: of one process, and of the whole machine. Benchmarks read it before and after a timed
window, so that a figure can say where the machine's CPU went while it was measured."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int | None, *, children: bool = False) -> float:
    """utime + stime of a process (0.0 when it is gone); with `children`, of its waited-for children too."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11 : 15 if children else 13]) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent neither idle nor waiting for I/O (/proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK


def snapshot(pids: Mapping[str, int | None], *, children: bool = False) -> dict[str, float]:
    """CPU seconds so far of each named process, and of the whole machine under "machine"."""
    taken = {name: process_seconds(pid, children=children) for name, pid in pids.items()}
    return taken | {"machine": machine_busy_seconds()}


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds spent between two snapshots, by name."""
    return {name: after[name] - before[name] for name in before}
