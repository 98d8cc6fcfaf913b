"""Node registration, the node Lease heartbeat and node status.

node_object     the Node this kubelet registers (pure: host facts in, dict out)
node_status     capacity, allocatable, addresses, conditions, nodeInfo, daemonEndpoints
NodeAgent       registers (again, when the Node is deleted), renews the Lease in kube-node-lease every 10 s,
                writes the status when it changes and at least every minute
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError, is_already_exists, is_not_found
from apimachinery.storage import LOCAL_PATH_ROOT_ANNOTATION
from apimachinery.timefmt import now_rfc3339
from kubelet import nodestatus
from kubelet.api import NODES
from kubelet.config import KubeletConfig

log = logging.getLogger("kubelet.node")

KUBELET_VERSION = "v1.32.0-kubelite"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def _meminfo(field: str) -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "Linux"


def host_facts(docker_version: str) -> dict[str, Any]:
    machine_id = _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")
    try:
        disk = shutil.disk_usage("/").total
    except OSError:
        disk = 0
    return {
        "cpu": os.cpu_count() or 1,
        "disk": disk,
        "memory": _meminfo("MemTotal"),
        "nodeInfo": {
            "machineID": machine_id,
            "systemUUID": _read("/sys/class/dmi/id/product_uuid") or machine_id,
            "bootID": _read("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": platform.release(),
            "osImage": _os_image(),
            "containerRuntimeVersion": f"docker://{docker_version}",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": _ARCH.get(platform.machine(), platform.machine()),
        },
    }


def node_labels(config: KubeletConfig, arch: str) -> dict[str, str]:
    return {
        "kubernetes.io/hostname": config.node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": arch,
        **config.node_labels,
    }


def node_object(config: KubeletConfig, facts: dict[str, Any], node_ip: str) -> dict[str, Any]:
    return nodestatus.node_object(
        config.node_name,
        node_labels(config, facts["nodeInfo"]["architecture"]),
        node_status(config, facts, node_ip, {}, now_rfc3339()),
        taints=config.register_with_taints,
        pod_cidr=config.pod_cidr,
        annotations={LOCAL_PATH_ROOT_ANNOTATION: str(config.local_root)},
    )


def _pressure(config: KubeletConfig) -> dict[str, bool]:
    mem_available = _meminfo("MemAvailable")
    try:
        disk = shutil.disk_usage(config.root_dir if config.root_dir.exists() else "/")
        disk_low = disk.free < 0.05 * disk.total
    except OSError:
        disk_low = False
    pid_max = int(_read("/proc/sys/kernel/pid_max", "4194304") or 4194304)
    pids = sum(1 for p in os.listdir("/proc") if p.isdigit())
    return {
        "MemoryPressure": 0 < mem_available < 100 * 2**20,
        "DiskPressure": disk_low,
        "PIDPressure": pids > 0.9 * pid_max,
    }


def node_status(
    config: KubeletConfig,
    facts: dict[str, Any],
    node_ip: str,
    old_conditions: dict[str, dict[str, Any]],
    now: str,
    pressure: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """The Node's status; lastTransitionTime survives from `old_conditions` when a condition keeps its value."""
    capacity = {
        "cpu": str(facts["cpu"]),
        "memory": f"{facts['memory'] // 1024}Ki",
        "pods": str(config.max_pods),
        "ephemeral-storage": f"{facts.get('disk', 0) // 1024}Ki",
        **config.capacity,
    }
    return nodestatus.node_status(
        name=config.node_name,
        node_ip=node_ip,
        capacity=capacity,
        node_info=facts["nodeInfo"],
        port=config.port,
        now=now,
        old_conditions=old_conditions,
        pressure=pressure,
    )


def _without_heartbeats(status: dict[str, Any]) -> dict[str, Any]:
    return {
        **status,
        "conditions": [
            {k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in status["conditions"]
        ],
    }


class NodeAgent:
    def __init__(self, config: KubeletConfig, client: Client, facts: dict[str, Any], node_ip: str) -> None:
        self.config = config
        self.client = client
        self.facts = facts
        self.node_ip = node_ip
        self.node: dict[str, Any] | None = None
        self._last_status: dict[str, Any] | None = None
        self._last_report = 0.0
        self.lease = nodestatus.NodeLease(client, config.node_name, config.lease_duration)
        self.registered = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps weak ones)

    async def register(self) -> dict[str, Any]:
        """Create the Node, or adopt the existing one (setting podCIDR from the flag if it has none)."""
        obj = node_object(self.config, self.facts, self.node_ip)
        try:
            self.node = await self.client.create(NODES, obj)
            log.info("registered node %s", self.config.node_name)
        except StatusError as exc:
            if not is_already_exists(exc):
                raise
            node = await self.client.get(NODES, self.config.node_name)
            patch: dict[str, Any] = {
                "metadata": {
                    "labels": obj["metadata"]["labels"],
                    "annotations": obj["metadata"]["annotations"],
                }
            }
            if self.config.pod_cidr and not node.get("spec", {}).get("podCIDR"):
                patch["spec"] = {"podCIDR": self.config.pod_cidr, "podCIDRs": [self.config.pod_cidr]}
            self.node = await self.client.patch(NODES, self.config.node_name, patch)
            log.info("node %s already registered, adopted", self.config.node_name)
        self._last_status = None
        await self.update_status(force=True)
        self.registered.set()
        assert self.node is not None
        return self.node

    async def update_status(self, force: bool = False) -> None:
        """Write the status if it changed or the report interval passed; register again if the Node is gone."""
        old = {c["type"]: c for c in ((self.node or {}).get("status") or {}).get("conditions") or []}
        status = node_status(
            self.config, self.facts, self.node_ip, old, now_rfc3339(), _pressure(self.config)
        )
        due = time.monotonic() - self._last_report >= self.config.node_status_report_frequency
        unchanged = self._last_status is not None and _without_heartbeats(status) == _without_heartbeats(
            self._last_status
        )
        if unchanged and not due and not force:
            return
        try:
            self.node = await self.client.patch(
                NODES, self.config.node_name, {"status": status}, subresource="status"
            )
        except StatusError as exc:
            if is_not_found(exc):
                log.warning("node %s was deleted, registering again", self.config.node_name)
                await self.register()
                return
            raise
        self._last_status = status
        self._last_report = time.monotonic()

    async def renew_lease(self) -> None:
        await self.lease.renew((self.node or {}).get("metadata", {}).get("uid"))

    async def run(self) -> None:
        """Heartbeats until cancelled: the Lease every renew interval, the status every update interval."""
        next_lease = next_status = 0.0
        while True:
            now = time.monotonic()
            try:
                if now >= next_lease:
                    await self.renew_lease()
                    next_lease = now + self.config.lease_renew_interval
                if now >= next_status:
                    await self.update_status()
                    next_status = now + self.config.node_status_update_frequency
            except (StatusError, ClientConnectionError) as exc:
                log.warning("node heartbeat failed: %s", exc)
                next_lease = min(next_lease, now + 1.0)
            await asyncio.sleep(max(0.1, min(next_lease, next_status) - time.monotonic()))

    def on_node_deleted(self) -> None:
        """Our Node vanished from the API: register again (in the background)."""
        task = asyncio.create_task(self._reregister(), name="node-reregister")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reregister(self) -> None:
        try:
            await self.register()
        except Exception as exc:  # the heartbeat loop registers again on its next status write
            log.warning("re-registration failed: %s", exc)
