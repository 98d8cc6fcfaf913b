"""The kubelet's stats collection: every `interval` seconds, read the cgroups of this node's running containers, the
pods' network counters and the node's totals, and keep the result (a model.Snapshot) for the HTTP endpoints, which
never read anything themselves. So a scrape costs nothing but rendering, however often it comes.

A round costs one Docker list call plus a few small sysfs/procfs reads per container; a new container is inspected
once (its cgroup, image, start time and log path are cached by id). Writable-layer sizes make Docker walk the
layers, so they are asked for only every `fs_interval` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelet.runtime.docker import (
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    LABEL_TYPE,
    TYPE_SANDBOX,
    DockerRuntime,
    RuntimeFailure,
    container_info,
)
from kubelet.stats import cgroups
from kubelet.stats.cgroups import Cgroup, CgroupError, Hierarchies, MemoryUsage
from kubelet.stats.model import ContainerStats, FsUsage, NodeStats, PodStats, Snapshot, Usage
from kubelet.stats.netdev import read_net_dev

log = logging.getLogger("kubelet.stats")


@dataclass
class _Known:
    """What inspecting a container once told us."""

    id: str
    labels: dict[str, str]
    image: str
    start_time: float
    pid: int
    cgroup_parent: str
    memory_limit: int | None
    log_path: str
    docker_name: str
    cgroup: Cgroup | None = None


class StatsCollector:
    def __init__(
        self,
        runtime: DockerRuntime,
        node_name: str,
        root_dir: Path,
        *,
        interval: float = 10.0,
        fs_interval: float = 60.0,
    ) -> None:
        self.runtime = runtime
        self.node_name = node_name
        self.root_dir = root_dir
        self.interval = interval
        self.fs_interval = fs_interval
        self.snapshot = Snapshot()
        self.rounds = 0
        self.cpu_seconds = 0.0  # CPU time this collector's rounds took (thread time of the reading part)
        self._known: dict[str, _Known] = {}
        self._previous: dict[str, tuple[float, int]] = {}  # key -> (monotonic time, cumulative cpu ns)
        self._sizes: dict[str, int] = {}
        self._sizes_at = -1e9
        self._hierarchies: Hierarchies | None = None
        self._driver = "cgroupfs"
        self._docker_root = ""

    async def run(self) -> None:
        """Collect every `interval` seconds until cancelled; a failed round is logged and counted as an error."""
        while True:
            try:
                await self.collect()
            except (
                Exception
            ) as exc:  # Docker away for a moment: keep the last snapshot, mark the scrape as failed
                log.warning("stats collection failed: %s", exc)
                self.snapshot.errors += 1
            await asyncio.sleep(self.interval)

    async def collect(self) -> Snapshot:
        started = time.thread_time()
        if self._hierarchies is None:
            info = await self.runtime.info()
            self._driver = str(info.get("CgroupDriver") or "cgroupfs")
            self._docker_root = str(info.get("DockerRootDir") or "")
            self._hierarchies = await asyncio.to_thread(cgroups.read_hierarchies)
        entries = [e for e in await self.runtime.list_ids() if e.get("State") == "running"]
        running = {str(e["Id"]) for e in entries}
        for gone in set(self._known) - running:
            del self._known[gone]
            self._previous.pop(gone, None)
        for cid in running - set(self._known):
            known = await self._inspect(cid)
            if known is not None:
                self._known[cid] = known
        if time.monotonic() - self._sizes_at >= self.fs_interval:
            self._sizes_at = time.monotonic()
            try:
                self._sizes = await self.runtime.container_sizes()
            except RuntimeFailure as exc:
                log.warning("container sizes unavailable: %s", exc)
        spent = time.thread_time() - started
        snapshot, read_cpu = await asyncio.to_thread(self._read, list(self._known.values()))
        self.cpu_seconds += spent + read_cpu
        self.rounds += 1
        self.snapshot = snapshot
        return snapshot

    async def _inspect(self, cid: str) -> _Known | None:
        try:
            attrs: dict[str, Any] = await self.runtime.inspect_raw(cid)
        except RuntimeFailure:
            return None  # removed between the list and the inspect
        info = container_info(attrs)
        host = attrs.get("HostConfig") or {}
        return _Known(
            id=cid,
            labels=info.labels,
            image=info.image,
            start_time=info.started_epoch,
            pid=info.pid,
            cgroup_parent=str(host.get("CgroupParent") or ""),
            memory_limit=int(host["Memory"]) if host.get("Memory") else None,
            log_path=str(attrs.get("LogPath") or ""),
            docker_name=info.name,
        )

    # -- the reading part, in a worker thread ----------------------------------------------------------------

    def _read(self, known: list[_Known]) -> tuple[Snapshot, float]:
        started = time.thread_time()
        snapshot = Snapshot()
        pods: dict[str, PodStats] = {}
        sandboxes: dict[str, _Known] = {}
        members: dict[str, list[Usage]] = {}
        for k in known:
            try:
                usage = self._usage(k.id, self._cgroup_of(k))
            except (CgroupError, OSError, ValueError) as exc:
                log.debug("container %s unreadable: %s", k.id[:12], exc)
                snapshot.errors += 1
                continue
            uid = k.labels.get(LABEL_POD_UID, "")
            members.setdefault(uid, []).append(usage)
            if k.labels.get(LABEL_TYPE) == TYPE_SANDBOX:
                sandboxes[uid] = k
                continue
            pod = pods.get(uid)
            if pod is None:
                pod = pods[uid] = PodStats(
                    name=k.labels.get(LABEL_POD_NAME, ""),
                    namespace=k.labels.get(LABEL_POD_NAMESPACE, ""),
                    uid=uid,
                    start_time=k.start_time,
                    sandbox_id="",
                    containers=[],
                    usage=usage,
                )
            pod.containers.append(self._container(k, usage))
        for uid, pod in pods.items():
            pod.usage = _sum(members[uid])
            pod.containers.sort(key=lambda c: c.name)
            sandbox = sandboxes.get(uid)
            if sandbox is not None:
                pod.sandbox_id, pod.start_time = sandbox.id, sandbox.start_time
                try:
                    pod.interfaces, pod.network_time = read_net_dev(sandbox.pid), time.time()
                except (OSError, ValueError):
                    pass  # the sandbox just stopped: no network figures this round
        snapshot.pods = sorted(pods.values(), key=lambda p: (p.namespace, p.name))
        try:
            snapshot.node = self._node()
        except (OSError, ValueError) as exc:
            log.warning("node stats unreadable: %s", exc)
            snapshot.errors += 1
        return snapshot, time.thread_time() - started

    def _cgroup_of(self, k: _Known) -> Cgroup:
        if k.cgroup is None:
            assert self._hierarchies is not None
            try:
                k.cgroup = Cgroup(self._hierarchies, cgroups.proc_cgroups(k.pid))
            except CgroupError:
                path = cgroups.docker_cgroup_path(k.id, self._driver, k.cgroup_parent)
                k.cgroup = Cgroup.for_path(self._hierarchies, path)
        return k.cgroup

    def _usage(self, key: str, source: Cgroup | None) -> Usage:
        now = time.time()
        if source is None:
            cpu, memory = cgroups.node_cpu(), cgroups.node_memory()[0]
        else:
            cpu, memory = source.cpu(), source.memory()
        mono = time.monotonic()
        previous = self._previous.get(key)
        self._previous[key] = (mono, cpu.usage_ns)
        rate = None
        if previous is not None and mono > previous[0] and cpu.usage_ns >= previous[1]:
            rate = int((cpu.usage_ns - previous[1]) / (mono - previous[0]))
        return Usage(now, cpu.usage_ns, rate, memory)

    def _container(self, k: _Known, usage: Usage) -> ContainerStats:
        rootfs = FsUsage(self._sizes[k.id]) if k.id in self._sizes else None
        logs = None
        if k.log_path:
            try:
                logs = FsUsage(os.stat(k.log_path).st_size)
            except OSError:
                pass  # a log driver without a file, or a path this kubelet cannot see
        return ContainerStats(
            id=k.id,
            name=k.labels.get(LABEL_CONTAINER_NAME, ""),
            image=k.image,
            start_time=k.start_time,
            usage=usage,
            cgroup=k.cgroup.path if k.cgroup is not None else "",
            docker_name=k.docker_name,
            memory_limit=k.memory_limit,
            rootfs=rootfs,
            logs=logs,
        )

    def _node(self) -> NodeStats:
        usage = self._usage("/", None)
        _, available, total = cgroups.node_memory()
        return NodeStats(
            name=self.node_name,
            start_time=cgroups.boot_time(),
            usage=usage,
            memory_available=available,
            memory_total=total,
            network_time=time.time(),
            interfaces=read_net_dev(None),
            fs=_statvfs(self.root_dir),
            image_fs=_statvfs(Path(self._docker_root)) if self._docker_root else None,
        )


def _sum(usages: list[Usage]) -> Usage:
    rates = [u.nano_cores for u in usages]
    m = [u.memory for u in usages]
    return Usage(
        time=max(u.time for u in usages),
        cpu_ns=sum(u.cpu_ns for u in usages),
        nano_cores=None if any(r is None for r in rates) else sum(r or 0 for r in rates),
        memory=MemoryUsage(
            sum(x.usage for x in m),
            sum(x.working_set for x in m),
            sum(x.rss for x in m),
            sum(x.page_faults for x in m),
            sum(x.major_page_faults for x in m),
        ),
    )


def _statvfs(path: Path) -> FsUsage | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None  # not on this machine's filesystem (the engine runs elsewhere) or not created yet
    capacity, free = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
    return FsUsage(
        used_bytes=(st.f_blocks - st.f_bfree) * st.f_frsize,
        capacity_bytes=capacity,
        available_bytes=free,
        inodes=st.f_files,
        inodes_free=st.f_ffree,
        inodes_used=st.f_files - st.f_ffree,
    )
