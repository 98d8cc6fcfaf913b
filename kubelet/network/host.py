"""The node's own network plumbing for pod traffic (outside any pod): routes and iptables rules.

ensure_guard      the cluster CIDR routed to a local guard device (apimachinery.guard), so that a pod
                  address without a more specific route (a bridge, another node) is dropped on this machine,
                  never sent to the default gateway (DESIGN.md section 7). Shared by all kubelets of a machine; never removed
                  by a kubelet on exit (others may rely on it); `remove_guard` is for tests and teardown.
ensure_rules      FORWARD accepts traffic from and to the cluster CIDR (the host's FORWARD policy may be DROP,
                  as Docker sets it), and traffic leaving the cluster CIDR from this node's podCIDR is
                  masqueraded. Rules live in chains of ours, tagged with a comment.
sync_routes       host-gw: every other node's podCIDR via its InternalIP, programmed from Node objects;
                  routes are tagged `proto 177` so stale ones can be found and removed.
"""

from __future__ import annotations

import ipaddress
import json
import logging

from apimachinery import guard, hostcheck
from apimachinery.hostcmd import run_checked
from apimachinery.validation import host_ipv4, host_ipv4_network

log = logging.getLogger("kubelet.network")

GUARD_DEVICE = "kubelite-guard"
ROUTE_PROTO = "177"
FORWARD_CHAIN = "KUBELITE-FORWARD"
MASQ_CHAIN = "KUBELITE-POSTROUTING"


async def run(*args: str, check: bool = True) -> tuple[int, str]:
    """Run a host command to completion (even when cancelled); HostCommandError for a failure when `check`."""
    return await run_checked(*args, check=check)


async def ensure_guard(cluster_cidr: str) -> str:
    """Route `cluster_cidr` to the guard device (apimachinery.guard: a dummy, else a blackhole route, so that
    the host's own connections to a pod address nobody has fail at once), leaving alone a route some other party
    already has for exactly that prefix. Returns the guard's kind."""
    return await guard.ensure_guard([cluster_cidr], GUARD_DEVICE, keep_other_routes=True)


async def remove_guard(cluster_cidr: str) -> None:
    await guard.remove_guard([cluster_cidr], GUARD_DEVICE)


def ensure_forwarding() -> bool:
    """net.ipv4.ip_forward=1, or a warning where it is 0 and cannot be changed (read-only /proc/sys): pods then
    reach this machine and each other on its bridge, but nothing is routed between bridges, nodes or beyond."""
    if hostcheck.set_sysctl(hostcheck.IP_FORWARD, "1"):
        return True
    log.warning(
        "net.ipv4.ip_forward is 0 and /proc/sys is read-only here: traffic between bridges, to other nodes and "
        "from pods to other machines is not forwarded (pods still reach this machine and pods on its bridge)"
    )
    return False


async def _ensure_chain(table: str, chain: str, parent: str) -> None:
    await run("iptables", "-w", "-t", table, "-N", chain, check=False)
    code, _ = await run("iptables", "-w", "-t", table, "-C", parent, "-j", chain, check=False)
    if code != 0:
        await run("iptables", "-w", "-t", table, "-I", parent, "1", "-j", chain)


async def _ensure_rule(table: str, chain: str, *rule: str) -> None:
    code, _ = await run("iptables", "-w", "-t", table, "-C", chain, *rule, check=False)
    if code != 0:
        await run("iptables", "-w", "-t", table, "-A", chain, *rule)


async def ensure_rules(cluster_cidr: str, pod_cidr: str, node_name: str) -> None:
    """Accept forwarding of cluster traffic; masquerade what leaves the cluster CIDR from this node's pods. Without
    iptables there is nothing to accept (no firewall) and nothing masquerades: pods then cannot reach other
    machines, which is said once."""
    ensure_forwarding()
    if not hostcheck.iptables_installed():
        log.warning(
            "iptables is not installed: traffic from pods to other machines is not masqueraded (pods reach this "
            "machine and each other; install iptables for the rest)"
        )
        return
    await _ensure_chain("filter", FORWARD_CHAIN, "FORWARD")
    comment = ["-m", "comment", "--comment", "kubelite pod traffic"]
    await _ensure_rule("filter", FORWARD_CHAIN, "-s", cluster_cidr, *comment, "-j", "ACCEPT")
    await _ensure_rule("filter", FORWARD_CHAIN, "-d", cluster_cidr, *comment, "-j", "ACCEPT")
    await _ensure_chain("nat", MASQ_CHAIN, "POSTROUTING")
    await _ensure_rule(
        "nat", MASQ_CHAIN, "-s", pod_cidr, "!", "-d", cluster_cidr,
        "-m", "comment", "--comment", f"kubelite masquerade {node_name}", "-j", "MASQUERADE",
    )  # fmt: skip


async def remove_rules(cluster_cidr: str, pod_cidr: str, node_name: str) -> None:
    """Remove this node's masquerade rule; the shared chains go when they are empty."""
    if not hostcheck.iptables_installed():
        return  # nothing was made
    await run(
        "iptables", "-w", "-t", "nat", "-D", MASQ_CHAIN, "-s", pod_cidr, "!", "-d", cluster_cidr,
        "-m", "comment", "--comment", f"kubelite masquerade {node_name}", "-j", "MASQUERADE", check=False,
    )  # fmt: skip
    for table, chain, parent in (("nat", MASQ_CHAIN, "POSTROUTING"), ("filter", FORWARD_CHAIN, "FORWARD")):
        _, out = await run("iptables", "-w", "-t", table, "-S", chain, check=False)
        rules = [line for line in out.splitlines() if line.startswith("-A ")]
        if table == "filter" or not rules:
            if table == "filter":
                _, nat = await run("iptables", "-w", "-t", "nat", "-S", MASQ_CHAIN, check=False)
                if any(line.startswith("-A ") for line in nat.splitlines()):
                    continue  # other kubelets of this machine still use the shared accept rules
            await run("iptables", "-w", "-t", table, "-D", parent, "-j", chain, check=False)
            await run("iptables", "-w", "-t", table, "-F", chain, check=False)
            await run("iptables", "-w", "-t", table, "-X", chain, check=False)


async def local_addresses() -> set[str]:
    _, out = await run("ip", "-j", "-4", "addr", "show")
    return {a["local"] for link in json.loads(out or "[]") for a in link.get("addr_info", []) if "local" in a}


async def sync_routes(desired: dict[str, str]) -> None:
    """Make the proto-177 routes exactly `desired` (podCIDR -> gateway IP); gateways on this host are skipped
    because such a node's bridge is local and already routed. Entries that are not an IPv4 network and address
    are skipped (the caller decided on validated Node fields; this is the second check, where `ip` runs)."""
    local = await local_addresses()
    wanted: dict[str, str] = {}
    for cidr, via in desired.items():
        net, gateway = host_ipv4_network(cidr), host_ipv4(via)
        if net is None or gateway is None:
            log.warning("route %r via %r skipped: not an IPv4 network and address", cidr, via)
        elif gateway not in local:
            wanted[str(net)] = gateway
    _, out = await run("ip", "-j", "route", "show", "proto", ROUTE_PROTO)
    present = {r["dst"]: r.get("gateway", "") for r in json.loads(out or "[]")}
    for cidr, via in wanted.items():
        if present.get(_canonical(cidr)) != via:
            await run("ip", "route", "replace", cidr, "via", via, "proto", ROUTE_PROTO)
            log.info("route %s via %s", cidr, via)
    for dst in present:
        if dst not in {_canonical(c) for c in wanted}:
            await run("ip", "route", "del", dst, "proto", ROUTE_PROTO, check=False)
            log.info("route %s removed", dst)


def _canonical(cidr: str) -> str:
    net = ipaddress.ip_network(cidr, strict=False)
    return str(net) if net.prefixlen != 32 else str(net.network_address)
