"""One kube-proxy per network namespace: an flock on a well-known file says who programs this one.

Two kube-proxies in one namespace rewrite the same chains (each without the other's services), and one's
`--cleanup` would delete the guard device the other relies on, letting packets to service addresses follow the
default route off the machine. So a second kube-proxy waits for the lock before it touches anything (and takes
over when the first exits), and `--cleanup` refuses to run while a live kube-proxy holds it. The lock itself is
apimachinery.nslock's (the network policy agent takes one of its own the same way).
"""

from __future__ import annotations

from pathlib import Path

from apimachinery.nslock import NamespaceLock

DEFAULT_PATH = Path("/run/kubelite/kube-proxy.lock")


class ProxyLock(NamespaceLock):
    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        super().__init__(path)
