"""One kube-proxy per network namespace: an flock on a well-known file says who programs this one.

Two kube-proxies in one namespace rewrite the same chains (each without the other's services), and one's
`--cleanup` would delete the guard device the other relies on, letting packets to service addresses follow the
default route off the machine. So a second kube-proxy waits for the lock before it touches anything (and takes
over when the first exits), and `--cleanup` refuses to run while a live kube-proxy holds it. The kernel drops
the lock when its holder dies, so a killed kube-proxy never leaves a stale one.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger("kube_proxy.lock")

DEFAULT_PATH = Path("/run/kubelite/kube-proxy.lock")


class ProxyLock:
    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; True when we hold it now, or when no lock can be had here at all
        (the file cannot be created: we then act as the only kube-proxy, as we would without a lock)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning(
                "cannot use the kube-proxy lock file", extra={"path": str(self.path), "error": str(exc)}
            )
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    @property
    def held(self) -> bool:
        return self.fd is not None

    def holder(self) -> str:
        """The pid written by the current holder ("" when unknown)."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None
