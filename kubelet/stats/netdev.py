"""Network counters of a network namespace: /proc/<pid>/net/dev shows the interfaces of the namespace that process
lives in, so the pod's sandbox (pause) process gives the pod's counters without entering the namespace."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InterfaceStats:
    name: str
    rx_bytes: int
    rx_errors: int
    tx_bytes: int
    tx_errors: int


def parse_net_dev(text: str) -> list[InterfaceStats]:
    """The interfaces of a /proc/net/dev table, loopback left out (the kubelet reports it nowhere)."""
    found = []
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        values = counters.split()
        name = name.strip()
        if len(values) < 16 or name == "lo" or not all(v.isdigit() for v in values[:16]):
            continue
        found.append(InterfaceStats(name, int(values[0]), int(values[2]), int(values[8]), int(values[10])))
    return found


def read_net_dev(pid: int | None, proc: str = "/proc") -> list[InterfaceStats]:
    """The interfaces of process `pid`'s network namespace (None: this process's own)."""
    where = "self" if pid is None else str(int(pid))
    with open(f"{proc}/{where}/net/dev", encoding="ascii") as f:
        return parse_net_dev(f.read())
