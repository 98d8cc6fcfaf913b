"""Secret and projected (token) volumes in memory: each is a tmpfs of its own, so their values never reach a disk,
as the kubelet does. Mounting needs root (CAP_SYS_ADMIN); without it the volume is a plain directory, still
under a 0700 directory that only root on the host can enter.

A tmpfs outlives the kubelet: `unmount_under(dir)` removes every mount below a pod's directory before the
directory goes (pod cleanup, `kubelet --cleanup`, the test fixtures), deepest first. Docker's daemon must share
the kubelet's mount namespace to see the tmpfs (it does on a host and in the compose node, where the kubelet runs
beside its own dockerd).

Mounting and unmounting are the mount(2) and umount2(2) system calls, which is what mount(8) and umount(8) make
of the same options (in a thread: the kernel's mount lock may keep them waiting): no process is started per volume,
which on a burst of pod starts is CPU Docker needs.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re
from pathlib import Path

log = logging.getLogger("kubelet.volumes")

SIZE = "32m"  # a Secret holds at most 1 MiB; a swap keeps two copies for a moment
_ESCAPE = re.compile(r"\\([0-7]{3})")
MS_NOSUID, MS_NODEV = 0x2, 0x4  # <sys/mount.h>
MNT_DETACH = 0x2
_libc = ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(directory: Path) -> None:
    """`mount -t tmpfs -o mode=0755,size=SIZE,nosuid,nodev tmpfs DIRECTORY`, as the system call it makes."""
    options = f"mode=0755,size={SIZE}".encode()
    if _libc.mount(b"tmpfs", os.fsencode(directory), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(directory))


def _unmount(point: str, flags: int = 0) -> None:
    if _libc.umount2(os.fsencode(point), flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), point)


class Mounter:
    """Mounts a tmpfs where asked, once it has seen that it can; remembers a refusal (and says so once)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and os.geteuid() == 0

    async def ensure(self, directory: Path) -> bool:
        """`directory` (which exists) is a tmpfs when this returns True."""
        if not self.enabled:
            return False
        if is_mount(directory):
            return True
        try:  # in a thread: the system call may wait on the kernel's mount lock
            await asyncio.to_thread(_mount_tmpfs, directory)
        except OSError as exc:
            log.warning("secret volumes stay on disk (under a 0700 directory): tmpfs mount failed: %s", exc)
            self.enabled = False
            return False
        return True


def is_mount(directory: Path) -> bool:
    return os.path.ismount(directory)


def mounts_under(base: Path) -> list[str]:
    """The mount points strictly below `base`, deepest first (from /proc/self/mountinfo)."""
    prefix = os.path.realpath(base).rstrip("/") + "/"
    points = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4:
                    point = _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
                    if point.startswith(prefix):
                        points.append(point)
    except OSError:
        return []
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


async def unmount_under(base: Path) -> None:
    """Unmount every mount below `base` (a pod's directory, or the kubelet's root)."""
    for point in mounts_under(base):
        try:
            await asyncio.to_thread(_unmount, point)
        except OSError:
            try:  # still busy: detach it now, the kernel frees it later (umount -l)
                await asyncio.to_thread(_unmount, point, MNT_DETACH)
            except OSError as exc:
                log.warning("could not unmount %s: %s", point, exc)
