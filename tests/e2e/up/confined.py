"""A machine that says no, on this machine: a network namespace and a mount namespace of their own (held open by a
`sleep`), where /proc/sys can be read-only, IPv6 off and folders (such as /usr/sbin with iptables) hidden under an
empty tmpfs. Commands run in it through `nsenter`; whatever a test does there (bridges, routes, iptables rules,
listeners) stays there and goes away with it. Docker is the host's, reached through its socket.

The namespace's default route leaves through a dummy device (198.51.100.10/24, TEST-NET-2): there is a node
address and a default route, as on a real machine, and nothing it sends goes anywhere.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field

NODE_IP = "198.51.100.10"


@dataclass
class ConfinedMachine:
    read_only_sysctl: bool = False
    ipv6: bool = True
    hidden: tuple[str, ...] = ()
    proc: subprocess.Popen[str] | None = field(default=None, init=False)

    def setup_script(self) -> str:
        lines = [
            "set -e",
            "ip link set lo up",
            "ip link add uplink0 type dummy 2>/dev/null || ip link add uplink0 type ifb",
            f"ip addr add {NODE_IP}/24 dev uplink0",
            "ip link set uplink0 up",
            "ip route add default via 198.51.100.1 dev uplink0",
            # what a new container starts with here: forwarding on (inherited from a Docker host), no route_localnet
            "echo 1 > /proc/sys/net/ipv4/ip_forward",
            "echo 0 > /proc/sys/net/ipv4/conf/all/route_localnet",
            # a kube-proxy lock of this namespace's own (the lock is a file, the namespace is not the host's)
            "mkdir -p /run/kubelite && mount -t tmpfs -o size=1m kubelite-lock /run/kubelite",
        ]
        if not self.ipv6:
            lines += ["echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6",
                      "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"]  # fmt: skip
        lines += [f"mount -t tmpfs -o ro,size=1m hidden {path}" for path in self.hidden]
        if self.read_only_sysctl:
            lines += ["mount --bind /proc/sys /proc/sys", "mount -o remount,bind,ro /proc/sys"]
        return "\n".join([*lines, "echo ready", "exec sleep infinity"])

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "bash",
                "-c",
                self.setup_script(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if first.strip() != "ready":
            self.stop()
            raise RuntimeError(f"the confined machine did not come up: {first}")

    def argv(self, *args: str) -> list[str]:
        assert self.proc is not None
        return ["nsenter", "--target", str(self.proc.pid), "--net", "--mount", "--", *args]

    def run(self, *args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout, **kwargs)

    def http_get(self, url: str) -> str:
        """GET `url` from inside (its body, or "" when it fails)."""
        get = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())"
        done = self.run(sys.executable, "-c", get, url, timeout=10)
        return done.stdout if done.returncode == 0 else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None
