"""What this machine lets a node do, found out without changing anything.

`kctl up` asks before it starts the components, to say once, in plain words, what will not work here; the kubelet
and kube-proxy ask again where they would otherwise fail, and take the same way around it. Containers commonly
mount /proc/sys read-only, minimal machines lack iptables or the CNI plugins, kernels may have IPv6 off, and
cgroups come in two versions: none of that may make a component crash-loop.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

PROC_SYS = Path("/proc/sys")
CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")

ROUTE_LOCALNET = "net.ipv4.conf.all.route_localnet"
IP_FORWARD = "net.ipv4.ip_forward"

_SYSCTL_NAME = re.compile(r"[a-z0-9_]+(\.[a-z0-9_-]+)+")


def sysctl_path(name: str) -> Path:
    """/proc/sys/net/ipv4/ip_forward for net.ipv4.ip_forward (interface names may hold dashes)."""
    if not _SYSCTL_NAME.fullmatch(name):
        raise ValueError(f"not a sysctl name: {name!r}")
    return PROC_SYS.joinpath(*name.split("."))


def read_sysctl(name: str) -> str | None:
    try:
        return sysctl_path(name).read_text().strip()
    except OSError:
        return None


def sysctl_writable(name: str) -> bool:
    """Whether this process may change the sysctl (False on a read-only /proc/sys, as in most containers)."""
    return os.access(sysctl_path(name), os.W_OK)


def sysctl_settable(name: str, value: str) -> bool:
    """The sysctl has `value` already, or this process could set it."""
    return read_sysctl(name) == value or sysctl_writable(name)


def set_sysctl(name: str, value: str) -> bool:
    """Set the sysctl unless it has `value` already. True when it has `value` afterwards; False when it cannot be
    changed here (read-only /proc/sys, no permission, no such key): the caller says what that costs."""
    if read_sysctl(name) == value:
        return True
    try:
        sysctl_path(name).write_text(value)
    except OSError:
        return False
    return True


def cni_bin_dir(configured: str | None = None) -> str | None:
    """The first directory holding all the CNI plugins a node uses (only the configured one, when given)."""
    for d in [configured] if configured else CNI_BIN_DIRS:
        if d and all(os.access(os.path.join(d, p), os.X_OK) for p in CNI_PLUGINS):
            return d
    return None


def iptables_installed() -> bool:
    return all(shutil.which(tool) for tool in ("iptables", "iptables-save", "iptables-restore"))


def iptables_usable() -> bool:
    """iptables is installed and this process may read (so, as root, change) the nat table."""
    if not iptables_installed():
        return False
    try:
        done = subprocess.run(["iptables", "-w", "5", "-t", "nat", "-S"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def ipv6_enabled() -> bool:
    return Path("/proc/net/if_inet6").exists() and read_sysctl("net.ipv6.conf.all.disable_ipv6") != "1"


def cgroup_version() -> int:
    return 2 if Path("/sys/fs/cgroup/cgroup.controllers").exists() else 1
