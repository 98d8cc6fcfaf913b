"""What `kctl up` checks on the machine before it starts anything: Docker, free ports, the network and proxy
modes it can use (cli/machine.py), the network policy agent's needs, and --advertise-address."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from dataclasses import dataclass, field

from cli import machine
from cli.errors import CLIError


@dataclass
class Preflight:
    proxy_mode: str = "iptables"
    network: str = "cni"
    netpol: bool = True  # the network policy agent can run (iptables rights and ipset)
    notes: list[str] = field(default_factory=list)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def preflight(ports: dict[str, int]) -> Preflight:
    """Check the machine; refuse with a way forward, or choose a fallback and say so (cli/machine.py)."""
    result = Preflight()
    try:
        import docker

        docker_info = docker.from_env(timeout=5).info()
    except Exception:
        raise CLIError(
            "Docker is not running (or this user may not use it): start the engine (`dockerd &` as root, or "
            "`systemctl start docker`) and run `kctl up` again"
        ) from None
    taken = [f"{name} port {port}" for name, port in ports.items() if not _port_free(port)]
    if taken:
        raise CLIError(
            f"port in use: {', '.join(taken)}. Stop what uses it, or run `kctl down` if a cluster is already "
            "up (`kctl up --port N` moves the apiserver; --kubelet-port, --scheduler-port, "
            "--controller-manager-port, --proxy-port, --dns-metrics-port move the others)"
        )
    plan = machine.assess(machine.probe(docker_info))
    result.proxy_mode, result.network = plan.proxy_mode, plan.network
    result.notes = [d.text() for d in plan.degradations]
    return result


def check_advertise_address(text: str) -> str:
    """--advertise-address: an IPv4 address of this machine (not loopback, not unspecified)."""
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise CLIError(f"--advertise-address {text!r} is not an IPv4 address") from None
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        raise CLIError(f"--advertise-address {text} is not an address other machines can reach")
    with socket.socket() as s:
        try:
            s.bind((str(address), 0))
        except OSError:
            raise CLIError(f"--advertise-address {text} is not an address of this machine") from None
    return str(address)


def netpol_preflight(pre: Preflight) -> None:
    """kube-netpol runs where iptables may be changed (kube-proxy's iptables mode says so) and ipset is installed;
    elsewhere `kctl up` says that network policies are not enforced."""
    if pre.proxy_mode != "iptables" or shutil.which("ipset") is None:
        pre.netpol = False
        pre.notes.append(
            "network policies are not enforced here: kube-netpol needs iptables rights and ipset "
            "(Debian: apt-get install ipset)"
        )
