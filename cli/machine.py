"""What `kctl up` can run on this machine, and what it has to do without: each shortfall said once, in plain words,
with what still works and how to get the rest.

`probe` gathers the facts (apimachinery.hostcheck, and Docker's own view of the cgroups); `assess` is the pure
decision: kube-proxy's mode, the pod network, and the degradations. The components take the same way around each
shortfall by themselves (they ask hostcheck too), so what `kctl up` says is what they do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apimachinery import hostcheck

WRITABLE_PROC_SYS = (
    "run where /proc/sys is writable (a VM, or a container started with --security-opt systempaths=unconfined "
    "or --privileged)"
)


@dataclass(frozen=True)
class Facts:
    iptables: bool  # installed, and this process may use it
    cni_plugins: bool
    route_localnet: bool  # net.ipv4.conf.all.route_localnet is 1 or can be set
    ip_forward: bool  # net.ipv4.ip_forward is 1 or can be set
    memory_limits: bool  # Docker can enforce memory limits
    cpu_limits: bool  # Docker can enforce CPU limits (CFS quota)
    cgroup_version: str = "1"


@dataclass(frozen=True)
class Degradation:
    what: str  # what the machine does not allow
    still_works: str
    for_the_rest: str

    def text(self) -> str:
        return f"{self.what}.\n  still works: {self.still_works}.\n  for the rest: {self.for_the_rest}."


@dataclass
class Plan:
    proxy_mode: str = "iptables"
    network: str = "cni"
    degradations: list[Degradation] = field(default_factory=list)


def probe(docker_info: dict[str, Any]) -> Facts:
    return Facts(
        iptables=hostcheck.iptables_usable(),
        cni_plugins=hostcheck.cni_bin_dir() is not None,
        route_localnet=hostcheck.sysctl_settable(hostcheck.ROUTE_LOCALNET, "1"),
        ip_forward=hostcheck.sysctl_settable(hostcheck.IP_FORWARD, "1"),
        memory_limits=bool(docker_info.get("MemoryLimit", True)),
        cpu_limits=bool(docker_info.get("CpuCfsQuota", True)),
        cgroup_version=str(docker_info.get("CgroupVersion") or "1"),
    )


def assess(facts: Facts) -> Plan:
    plan = Plan()
    say = plan.degradations.append
    if not facts.iptables:
        plan.proxy_mode = "userspace"
        say(Degradation(
            "iptables cannot be used here (it is not installed, or this user may not change it)",
            "kube-proxy runs in userspace mode: ClusterIPs and NodePorts of TCP Services, through a proxy in "
            "kube-proxy; pods reach this machine and each other. Not: UDP Services, hostPorts, and pods reaching "
            "other machines (nothing masquerades their traffic)",
            "install iptables (apt-get install iptables) and run kctl up as root",
        ))  # fmt: skip
    if not facts.cni_plugins:
        plan.network = "docker-bridge"
        say(Degradation(
            "the CNI plugins are not installed",
            "pods get their addresses from a Docker bridge network instead of the CNI bridge, and Docker publishes "
            "their hostPorts; Services and NodePorts work as usual",
            "apt-get install containernetworking-plugins, then kctl down and kctl up",
        ))  # fmt: skip
    elif not facts.ip_forward:
        plan.network = "docker-bridge"
        say(Degradation(
            "net.ipv4.ip_forward is 0 and /proc/sys is read-only here, so the CNI bridge plugin cannot run",
            "pods get their addresses from a Docker bridge network instead; Services and NodePorts work",
            f"{WRITABLE_PROC_SYS}, or start the container with --sysctl net.ipv4.ip_forward=1",
        ))  # fmt: skip
    if plan.proxy_mode == "iptables" and not facts.route_localnet:
        say(Degradation(
            "/proc/sys is read-only here, so kube-proxy cannot set net.ipv4.conf.all.route_localnet=1 (which "
            "lets iptables send packets for 127.0.0.1 on to a pod)",
            "NodePorts on 127.0.0.1 are served by kube-proxy's userspace proxy instead (TCP only); NodePorts on "
            "the machine's other addresses, ClusterIPs and hostPorts use iptables as usual. Not: UDP NodePorts "
            "and hostPorts on 127.0.0.1",
            f"{WRITABLE_PROC_SYS}, or start the container with --sysctl net.ipv4.conf.all.route_localnet=1",
        ))  # fmt: skip
    limits = [name for name, ok in (("memory", facts.memory_limits), ("CPU", facts.cpu_limits)) if not ok]
    if limits:
        say(Degradation(
            f"Docker cannot enforce {' or '.join(limits)} limits here (cgroup v{facts.cgroup_version} without "
            f"the {' and '.join(limits).lower()} controller)",
            f"pods run, and their requests count for scheduling; their {' and '.join(limits)} limits are not "
            "enforced",
            "give this machine's cgroup the controller (cgroup v2: enable it in the parent's "
            "cgroup.subtree_control; cgroup v1: mount the controller's hierarchy), then restart dockerd",
        ))  # fmt: skip
    return plan
