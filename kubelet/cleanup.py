"""`kubelet --cleanup`: remove what a kubelet made on this machine, for `kctl down` and tests.

CNI attachments (releasing their addresses), the node's containers, its bridge or Docker network, its masquerade
rule, and the pod guard route when no other kubelite node of this machine still has a bridge.
"""

from __future__ import annotations

import json
import logging

from kubelet.config import KubeletConfig
from kubelet.network import host
from kubelet.network.cni import (
    CniInvoker,
    bridge_name,
    find_bin_dir,
    machine_portmap,
    network_name,
    node_conflist,
)
from kubelet.volumes.tmpfs import unmount_under

log = logging.getLogger("kubelet.cleanup")


async def cleanup_node(config: KubeletConfig) -> int:
    """Remove what the kubelet of `node` made on this machine: CNI attachments (releasing their addresses),
    containers, the node's bridge or Docker network, its masquerade rule, and the pod guard route when no other
    kubelite node of this machine still has a bridge."""
    node, pod_cidr, network = config.node_name, config.pod_cidr, config.network_mode
    root = config.root_dir
    bin_dir = find_bin_dir(config.cni_bin_dir or None)
    if bin_dir:
        invoker = CniInvoker(bin_dir, root / "cni" / "results")
        conflist = node_conflist(node, pod_cidr, str(root / "cni" / "networks"), machine_portmap())
        for cid in invoker.cached_ids():
            try:
                await invoker.delete(conflist, cid, "")
            except Exception as exc:  # best effort: the container and bridge go below anyway
                log.warning(f"note: CNI DEL {cid[:12]}: {exc}")
    removed = 0
    try:
        import docker

        client = docker.from_env(timeout=30)
        for c in client.containers.list(all=True, filters={"label": f"io.kubelite.node={node}"}):
            c.remove(force=True, v=True)
            removed += 1
        if network == "docker-bridge":
            for net in client.networks.list(names=[network_name(node)]):
                net.remove()
    except Exception as exc:
        log.warning(f"warning: could not remove the containers of node {node}: {exc}")
    await unmount_under(root / "pods")  # the pods' secret volumes (tmpfs), so that the directory can go
    await host.run("ip", "link", "del", bridge_name(node), check=False)
    await host.remove_rules(config.cluster_cidr, pod_cidr, node)
    _, links = await host.run("ip", "-j", "link", "show", "type", "bridge", check=False)
    try:
        others = [link["ifname"] for link in json.loads(links or "[]") if link["ifname"].startswith("cni-")]
    except ValueError:
        others = []
    if not others:
        await host.remove_guard(config.cluster_cidr)
    return removed
