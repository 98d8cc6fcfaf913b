"""One agent of a kind per network namespace: an flock on a well-known file says who programs this one.

Two kube-proxies (or two policy agents) in one namespace would rewrite the same chains, each without the other's
objects, and one's cleanup would remove what the other relies on. So a second one waits for the lock before it
touches anything (and takes over when the first exits), and cleanup refuses to run while a live holder has it.
The kernel drops the lock when its holder dies, so a killed agent never leaves a stale one.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger("apimachinery.nslock")


class NamespaceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; True when we hold it now, or when no lock can be had here at all
        (the file cannot be created: we then act as the only one, as we would without a lock)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("cannot use the lock file", extra={"path": str(self.path), "error": str(exc)})
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

    def acquire_for_cleanup(self, who: str) -> bool:
        """Take the lock for a one-off cleanup: True when we hold it; False (and an error logged) while a running
        `who` holds it, since a cleanup under it would remove what it relies on."""
        if self.acquire():
            return True
        log.error(
            f"a running {who} holds the lock: not cleaning up under it",
            extra={"holder_pid": self.holder(), "lock_file": str(self.path)},
        )
        return False

    async def wait(self, who: str, interval: float = 0.5) -> None:
        """Take the lock, waiting (unhealthy, touching nothing) while another `who` holds it."""
        if self.acquire():
            return
        log.warning(
            f"another {who} programs this network namespace: waiting for it to exit",
            extra={"holder_pid": self.holder(), "lock_file": str(self.path)},
        )
        while not self.acquire():
            await asyncio.sleep(interval)
        log.info(f"took over the {who} lock")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None
