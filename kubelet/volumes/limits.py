"""emptyDir `sizeLimit` on disk: the kubelet's eviction manager measures each sized emptyDir of the pods it runs
and evicts a pod whose volume has grown past its limit.

A directory cannot be capped (as a tmpfs can: medium Memory is sized at mount, runtime.spec), so the kubelet
measures it every `interval` seconds, as upstream's local storage eviction does, and evicts the pod: its
containers are killed at once (grace period 0), its phase becomes Failed with reason `Evicted` and the message
`Usage of EmptyDir volume "<name>" exceeds the limit "<sizeLimit>".`, and an `Evicted` event says the same
(`PodSyncer.evict`). Usage is what `du` counts: allocated blocks of everything under the directory, symlinks not
followed and other filesystems (a mount inside the volume) not entered.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from kubelet.quantity import memory_bytes
from kubelet.runtime.mounts import check_volume_name
from kubelet.runtime.spec import pod_dir

EMPTY_DIR = "kubernetes.io~empty-dir"


def disk_usage(path: Path) -> int:
    """Bytes allocated under `path` (0 when it does not exist), not following symlinks nor crossing mounts."""
    try:
        top = os.lstat(path)
    except OSError:
        return 0
    total, stack = top.st_blocks * 512, [str(path)] if stat.S_ISDIR(top.st_mode) else []
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue  # removed meanwhile
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_dev != top.st_dev:
                continue
            total += st.st_blocks * 512
            if stat.S_ISDIR(st.st_mode):
                stack.append(entry.path)
    return total


def sized_empty_dirs(pod: dict[str, Any]) -> dict[str, str]:
    """name -> sizeLimit (as written) of the pod's on-disk emptyDir volumes that have one."""
    out = {}
    for v in (pod.get("spec") or {}).get("volumes") or []:
        empty_dir = v.get("emptyDir") if isinstance(v, dict) else None
        if isinstance(empty_dir, dict) and empty_dir.get("medium") != "Memory" and empty_dir.get("sizeLimit"):
            out[str(v.get("name"))] = str(empty_dir["sizeLimit"])
    return out


def exceeded(root_dir: Path, pod: dict[str, Any]) -> str | None:
    """The eviction message when one of the pod's sized emptyDirs uses more than its limit, else None."""
    for name, limit in sized_empty_dirs(pod).items():
        try:
            limit_bytes = memory_bytes(limit)
        except ValueError:
            continue  # the API refuses it; one written past the API is not enforced
        path = pod_dir(root_dir, pod) / "volumes" / EMPTY_DIR / check_volume_name(name)
        if disk_usage(path) > limit_bytes:
            return f'Usage of EmptyDir volume "{name}" exceeds the limit "{limit}".'
    return None
