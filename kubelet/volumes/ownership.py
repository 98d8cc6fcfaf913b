"""Volume ownership for a pod's `securityContext.fsGroup`, as the kubelet's SetVolumeOwnership does it.

Every file and directory of the volume gets the fsGroup as its group and the group's permissions: read and write
(read only for a read-only volume) on files, plus execute and the setgid bit on directories, so that what a
container creates later inherits the group. The container process runs with the fsGroup (and the pod's
supplementalGroups) as supplementary groups (`runtime.spec`), so a non-root user reaches the volume through the
group. `fsGroupChangePolicy: OnRootMismatch` skips the walk when the volume's root already has the group and the
permissions; `Always` (the default) walks every time the volume is set up.

Which volumes: emptyDir (on disk and, through its tmpfs options, in memory), local persistent volumes (the
local-path provisioner's) and the API volumes (configMap, secret, downwardAPI, projected; `atomic` writes their
files with the group). hostPath volumes and hostPath persistent volumes are left as they are, as upstream does.

A container can write into the volumes walked here, so the walk never follows a symlink and cannot be raced into
one: it goes by directory file descriptors (`os.fwalk`), changes a symlink's own group only, opens each file with
O_NOFOLLOW and checks it is the regular file it listed before changing it; anything else (fifos, devices,
sockets) is left alone.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import Any

log = logging.getLogger("kubelet.volumes")

INT32_MAX = 2**31 - 1
ALWAYS = "Always"
ON_ROOT_MISMATCH = "OnRootMismatch"
RW_FILE, RO_FILE = 0o660, 0o440
RW_DIR, RO_DIR = stat.S_ISGID | 0o770, stat.S_ISGID | 0o550


class OwnershipError(ValueError):
    """An fsGroup or change policy that must not reach the host (the API refuses both)."""


def fs_group(pod: dict[str, Any]) -> int | None:
    """The pod's fsGroup, checked again here (it becomes a chown argument); None when not set."""
    value = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT32_MAX:
        raise OwnershipError(f"fsGroup {value!r} is not a valid group id")
    return value


def change_policy(pod: dict[str, Any]) -> str:
    value = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroupChangePolicy") or ALWAYS
    if value not in (ALWAYS, ON_ROOT_MISMATCH):
        raise OwnershipError(f"fsGroupChangePolicy {value!r} is not Always or OnRootMismatch")
    return str(value)


def root_matches(path: str, group: int, read_only: bool = False) -> bool:
    """The volume's root already has the group, the setgid bit and the group's permissions."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    want = RO_DIR if read_only else RW_DIR
    return stat.S_ISDIR(st.st_mode) and st.st_gid == group and st.st_mode & want == want


def set_volume_ownership(path: str, group: int, policy: str = ALWAYS, *, read_only: bool = False) -> bool:
    """Give the volume at `path` (a real directory, not a link) to `group`; False when OnRootMismatch found the
    root already right and nothing was walked."""
    if policy == ON_ROOT_MISMATCH and root_matches(path, group, read_only):
        return False
    file_mask, dir_mask = (RO_FILE, RO_DIR) if read_only else (RW_FILE, RW_DIR)
    for _, _, names, dir_fd in os.fwalk(path, follow_symlinks=False):
        _own_fd(dir_fd, group, dir_mask)
        for name in names:
            _own_entry(dir_fd, name, group, file_mask)
    return True


def _own_fd(fd: int, group: int, mask: int) -> None:
    st = os.fstat(fd)
    if st.st_gid != group:
        os.fchown(fd, -1, group)
    mode = stat.S_IMODE(st.st_mode)
    if mode | mask != mode or st.st_gid != group:  # chown clears setgid on some filesystems: set it again
        os.fchmod(fd, mode | mask)


def _own_entry(dir_fd: int, name: str, group: int, mask: int) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            if st.st_gid != group:
                os.chown(name, -1, group, dir_fd=dir_fd, follow_symlinks=False)
            return
        if not stat.S_ISREG(st.st_mode):
            return  # fifos, sockets, device nodes: never opened from here
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dir_fd)
    except OSError as exc:  # gone meanwhile, or swapped for a symlink (ELOOP): nothing of ours to change
        log.debug("ownership of %s skipped: %s", name, exc)
        return
    try:
        opened = os.fstat(fd)
        if stat.S_ISREG(opened.st_mode) and opened.st_ino == st.st_ino and opened.st_dev == st.st_dev:
            _own_fd(fd, group, mask)
    finally:
        os.close(fd)
