"""How a pod sandbox gets its IP: CNI (the normal mode) or a Docker bridge network (the fallback).

PodNetwork             the interface the pod workers use
CniNetwork             pause with network "none", then CNI ADD on its netns; DEL on teardown
DockerBridgeNetwork    pause attached to a per-node Docker bridge network over the podCIDR; hostPorts as
                       Docker port bindings. Used only where the CNI plugins are missing, and logged as such.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from kubelet.network import host
from kubelet.network.cni import (
    CniInvoker,
    bridge_name,
    machine_portmap,
    network_name,
    node_conflist,
    result_ip,
    write_conflist,
)
from kubelet.runtime.docker import ContainerInfo, DockerRuntime, RuntimeFailure

log = logging.getLogger("kubelet.network")


def _netns(pid: int) -> str:
    """The sandbox's netns path while its process lives, else "" (CNI DEL then releases what it can)."""
    path = f"/proc/{pid}/ns/net"
    return path if pid and os.path.exists(path) else ""


class PodNetwork(Protocol):
    mode: str

    async def prepare(self) -> None:
        """Node-level setup (config, guard route, host rules); idempotent."""

    def sandbox_args(self, pod: dict[str, Any]) -> dict[str, Any]:
        """Extra Docker create arguments for the pause container."""
        ...

    async def setup(self, pod: dict[str, Any], sandbox: ContainerInfo) -> str:
        """Wire the started sandbox; return the pod IP."""
        ...

    async def teardown(self, sandbox_id: str, pid: int) -> None:
        """Release the sandbox's network (IP, port mappings). Safe to call twice."""

    async def recover_ip(self, sandbox: ContainerInfo) -> str | None:
        """The IP of a sandbox wired before this kubelet started (re-adoption)."""
        ...


class CniNetwork:
    mode = "cni"

    def __init__(
        self, node_name: str, pod_cidr: str, cluster_cidr: str, bin_dir: str, conf_dir: Path, root_dir: Path
    ) -> None:
        self.node_name = node_name
        self.pod_cidr = pod_cidr
        self.cluster_cidr = cluster_cidr
        self.conf_dir = conf_dir
        self.portmap = machine_portmap()
        self.conflist = node_conflist(node_name, pod_cidr, str(root_dir / "cni" / "networks"), self.portmap)
        self.invoker = CniInvoker(bin_dir, root_dir / "cni" / "results")

    @property
    def bridge(self) -> str:
        return bridge_name(self.node_name)

    async def prepare(self) -> None:
        # The guard first: no pod traffic may flow before unknown pod addresses are pinned to this machine.
        await host.ensure_guard(self.cluster_cidr)
        await host.ensure_rules(self.cluster_cidr, self.pod_cidr, self.node_name)
        path = write_conflist(self.conf_dir, self.conflist)
        if self.portmap == "none":
            log.warning("iptables is not installed: hostPorts are not published (no CNI portmap plugin)")
        elif self.portmap == "no-snat":
            log.warning("/proc/sys is read-only here: hostPorts are published on the node's addresses, not on "
                        "127.0.0.1 (CNI portmap without snat, which needs route_localnet)")  # fmt: skip
        log.info("CNI network %s on bridge %s for %s (config %s)", self.conflist["name"], self.bridge,
                 self.pod_cidr, path)  # fmt: skip

    def sandbox_args(self, pod: dict[str, Any]) -> dict[str, Any]:
        return {"network_mode": "none"}

    async def setup(self, pod: dict[str, Any], sandbox: ContainerInfo) -> str:
        result = await self.invoker.add(self.conflist, sandbox.id, f"/proc/{sandbox.pid}/ns/net", pod)
        return result_ip(result)

    async def teardown(self, sandbox_id: str, pid: int) -> None:
        netns = _netns(pid)
        await self.invoker.delete(self.conflist, sandbox_id, netns)

    async def recover_ip(self, sandbox: ContainerInfo) -> str | None:
        path = self.invoker.cache_dir / sandbox.id
        if not path.exists():
            return None
        try:
            return result_ip(json.loads(path.read_text())["result"])
        except (ValueError, KeyError):
            return None

    async def destroy(self) -> None:
        """Remove the node's bridge and host rules (tests and `--cleanup`); pods must be gone already."""
        await host.run("ip", "link", "del", self.bridge, check=False)
        await host.remove_rules(self.cluster_cidr, self.pod_cidr, self.node_name)


class DockerBridgeNetwork:
    mode = "docker-bridge"

    def __init__(self, runtime: DockerRuntime, node_name: str, pod_cidr: str, cluster_cidr: str) -> None:
        self.runtime = runtime
        self.node_name = node_name
        self.pod_cidr = pod_cidr
        self.cluster_cidr = cluster_cidr
        self.network = network_name(node_name)

    async def prepare(self) -> None:
        log.warning(
            "CNI plugins not found: FALLBACK to the Docker bridge network %s over %s (no CNI, hostPorts via Docker)",
            self.network, self.pod_cidr,
        )  # fmt: skip
        await host.ensure_guard(self.cluster_cidr)
        client = self.runtime.client
        existing = await self.runtime._call("network_list", client.networks.list, names=[self.network])
        if not any(n.name == self.network for n in existing):
            import docker.types

            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=self.pod_cidr)])
            try:
                await self.runtime._call(
                    "network_create", client.networks.create, self.network, driver="bridge", ipam=ipam,
                    labels={"io.kubelite.node": self.node_name},
                )  # fmt: skip
            except RuntimeFailure as exc:
                if "already exists" not in str(exc):
                    raise

    def sandbox_args(self, pod: dict[str, Any]) -> dict[str, Any]:
        ports: dict[str, int] = {}
        for container in pod.get("spec", {}).get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("hostPort"):
                    proto = str(port.get("protocol", "TCP")).lower()
                    ports[f"{port['containerPort']}/{proto}"] = int(port["hostPort"])
        return {"network": self.network, "ports": ports}

    async def setup(self, pod: dict[str, Any], sandbox: ContainerInfo) -> str:
        return sandbox.ip_address

    async def teardown(self, sandbox_id: str, pid: int) -> None:
        return None

    async def recover_ip(self, sandbox: ContainerInfo) -> str | None:
        return sandbox.ip_address or None

    async def destroy(self) -> None:
        client = self.runtime.client
        for net in await self.runtime._call("network_list", client.networks.list, names=[self.network]):
            await self.runtime._call("network_remove", net.remove)
