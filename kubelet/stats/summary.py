"""The Summary API (`GET /stats/summary`): a model.Snapshot in the kubelet's stats/v1alpha1 JSON, field for field.

Fields the kubelet leaves out when it does not know them are left out here too (no zeros for the unknown): a
container's usageNanoCores is missing in the first round, ephemeral-storage when Docker has not told the sizes yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apimachinery.timefmt import format_time
from kubelet.stats.model import ContainerStats, FsUsage, NodeStats, PodStats, Snapshot, Usage
from kubelet.stats.netdev import InterfaceStats

Obj = dict[str, Any]


def rfc3339(epoch: float) -> str:
    return format_time(datetime.fromtimestamp(epoch, UTC))


def summary(snapshot: Snapshot, *, only_cpu_and_memory: bool = False) -> Obj:
    """The Summary; with `only_cpu_and_memory` (metrics-server's older query) just names, times, CPU and memory."""
    body: Obj = {
        "node": node(snapshot.node) if snapshot.node else {},
        "pods": [pod(p) for p in snapshot.pods],
    }
    if only_cpu_and_memory:
        keep = {"nodeName", "podRef", "name", "startTime", "cpu", "memory", "containers"}
        body["node"] = {k: v for k, v in body["node"].items() if k in keep}
        for p in body["pods"]:
            for k in set(p) - keep:
                del p[k]
            p["containers"] = [{k: v for k, v in c.items() if k in keep} for c in p["containers"]]
    return body


def node(n: NodeStats) -> Obj:
    out: Obj = {
        "nodeName": n.name,
        "startTime": rfc3339(n.start_time),
        "cpu": cpu(n.usage),
        "memory": memory(n.usage, n.memory_available),
    }
    if n.interfaces:
        out["network"] = network(n.network_time, n.interfaces)
    if n.fs is not None:
        out["fs"] = fs(n.usage.time, n.fs)
    if n.image_fs is not None:
        out["runtime"] = {"imageFs": fs(n.usage.time, n.image_fs)}
    return out


def pod(p: PodStats) -> Obj:
    out: Obj = {
        "podRef": {"name": p.name, "namespace": p.namespace, "uid": p.uid},
        "startTime": rfc3339(p.start_time),
        "containers": [container(c) for c in p.containers],
        "cpu": cpu(p.usage),
        "memory": memory(p.usage, None),
    }
    if p.interfaces:
        out["network"] = network(p.network_time, p.interfaces)
    ephemeral = p.ephemeral_bytes()
    if ephemeral is not None:
        out["ephemeral-storage"] = {"time": rfc3339(p.usage.time), "usedBytes": ephemeral}
    return out


def container(c: ContainerStats) -> Obj:
    available = max(c.memory_limit - c.usage.memory.working_set, 0) if c.memory_limit else None
    out: Obj = {
        "name": c.name,
        "startTime": rfc3339(c.start_time),
        "cpu": cpu(c.usage),
        "memory": memory(c.usage, available),
    }
    if c.rootfs is not None:
        out["rootfs"] = fs(c.usage.time, c.rootfs)
    if c.logs is not None:
        out["logs"] = fs(c.usage.time, c.logs)
    return out


def cpu(u: Usage) -> Obj:
    out: Obj = {"time": rfc3339(u.time)}
    if u.nano_cores is not None:
        out["usageNanoCores"] = u.nano_cores
    out["usageCoreNanoSeconds"] = u.cpu_ns
    return out


def memory(u: Usage, available: int | None) -> Obj:
    m = u.memory
    out: Obj = {"time": rfc3339(u.time)}
    if available is not None:
        out["availableBytes"] = available
    out.update(
        usageBytes=m.usage,
        workingSetBytes=m.working_set,
        rssBytes=m.rss,
        pageFaults=m.page_faults,
        majorPageFaults=m.major_page_faults,
    )
    return out


def network(at: float, interfaces: list[InterfaceStats]) -> Obj:
    """The first interface (eth0 in a pod) at the top level, as the kubelet does, and every one in `interfaces`."""
    listed = [
        {
            "name": i.name,
            "rxBytes": i.rx_bytes,
            "rxErrors": i.rx_errors,
            "txBytes": i.tx_bytes,
            "txErrors": i.tx_errors,
        }
        for i in sorted(interfaces, key=lambda i: (i.name != "eth0", i.name))
    ]
    return {"time": rfc3339(at), **listed[0], "interfaces": listed}


def fs(at: float, f: FsUsage) -> Obj:
    out: Obj = {"time": rfc3339(at)}
    if f.available_bytes is not None:
        out["availableBytes"] = f.available_bytes
    if f.capacity_bytes is not None:
        out["capacityBytes"] = f.capacity_bytes
    out["usedBytes"] = f.used_bytes
    if f.inodes is not None:
        out.update(inodesFree=f.inodes_free, inodes=f.inodes, inodesUsed=f.inodes_used)
    return out
