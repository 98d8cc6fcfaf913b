"""Secret and projected (token) volumes in memory: each is a tmpfs of its own, so their values never reach a disk,
as the kubelet does. Mounting needs root (CAP_SYS_ADMIN); without it the volume is a plain directory, still
under a 0700 directory that only root on the host can enter.

A tmpfs outlives the kubelet: `unmount_under(dir)` removes every mount below a pod's directory before the
directory goes (pod cleanup, `kubelet --cleanup`, the test fixtures), deepest first. Docker's daemon must share
the kubelet's mount namespace to see the tmpfs (it does on a host and in the compose node, where the kubelet runs
beside its own dockerd).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path

log = logging.getLogger("kubelet.volumes")

SIZE = "32m"  # a Secret holds at most 1 MiB; a swap keeps two copies for a moment
_ESCAPE = re.compile(r"\\([0-7]{3})")


async def _run(*args: str) -> tuple[int, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
    except FileNotFoundError:
        return 127, f"{args[0]}: command not found"
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace").strip()


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
        code, out = await _run("mount", "-t", "tmpfs", "-o", f"mode=0755,size={SIZE},nosuid,nodev", "tmpfs",
                               str(directory))  # fmt: skip
        if code != 0:
            log.warning("secret volumes stay on disk (under a 0700 directory): tmpfs mount failed: %s", out)
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
        code, out = await _run("umount", point)
        if code != 0:
            code, out = await _run(
                "umount", "-l", point
            )  # still busy: detach it now, the kernel frees it later
        if code != 0:
            log.warning("could not unmount %s: %s", point, out)
