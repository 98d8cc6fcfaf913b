"""A container's volumeMounts as bind mounts that stay inside their volume.

The API refuses an absolute subPath or one with a `..` element; this module checks again on the node, where it
matters, and also follows symlinks: a container can create `sub -> /` inside an emptyDir, and a second container
mounting `subPath: sub` must not get the host's root (CVE-2017-1002101). Each source is resolved with
`os.path.realpath` and must stay under the resolved volume directory; the resolved path is what Docker binds, so
a link planted later does not change it. (A container racing to swap a directory for a link between this check
and Docker's mount remains possible; upstream closes that with file descriptors, kubelite does not.)

`MountError` means the container must not be created; the pod worker reports it (CreateContainerConfigError).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from apimachinery.validation import is_dns1123_label, local_descending_path_errors
from kubelet.volumes import API_VOLUME

READ_ONLY = "ReadOnly"  # the kind of a volume every mount of which is read-only (a readOnly claim)
MEMORY = "Memory"  # an emptyDir of medium Memory: a Docker tmpfs volume, not a host directory (runtime.spec)


class MountError(Exception):
    """A volumeMount that cannot be bound safely; the message says which and why."""


@dataclass(frozen=True)
class Bind:
    source: str  # resolved host path
    target: str  # path in the container
    read_only: bool


def _within(path: str, base: str) -> bool:
    return path == base or os.path.commonpath([path, base]) == base


def check_volume_name(name: Any) -> str:
    """A volume name is a path component of the pod's directory: a DNS label, nothing else."""
    if not isinstance(name, str) or is_dns1123_label(name):
        raise MountError(f"volume name {name!r} is not a valid name")
    return name


def check_host_path(path: Any) -> str:
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path or ".." in path.split("/"):
        raise MountError(f"hostPath {path!r} must be an absolute path without '..'")
    return path


def check_target(mount: dict[str, Any]) -> str:
    target = mount.get("mountPath")
    if (
        not isinstance(target, str)
        or not target.startswith("/")
        or "\0" in target
        or ".." in target.split("/")
    ):
        raise MountError(f"mountPath {target!r} must be an absolute path without '..'")
    return target


def _source(base: str, sub_path: Any, *, create: bool) -> str:
    real_base = os.path.realpath(base)
    if not sub_path:
        return real_base
    if not isinstance(sub_path, str) or "\0" in sub_path or local_descending_path_errors(sub_path):
        raise MountError(f"subPath {sub_path!r} must be a relative path without '..'")
    real = os.path.realpath(os.path.join(real_base, sub_path))
    if not _within(real, real_base):
        raise MountError(f"subPath {sub_path!r} resolves to {real}, outside its volume")
    if create and not os.path.lexists(real):
        # As the kubelet does: a missing subPath is created as a directory (inside the volume, checked above).
        os.makedirs(real, exist_ok=True)
        real = os.path.realpath(real)
        if not _within(real, real_base):
            raise MountError(f"subPath {sub_path!r} resolves to {real}, outside its volume")
    return real


def resolve_binds(
    container: dict[str, Any], volumes: dict[str, tuple[str, str | None]], *, create: bool = True
) -> list[Bind]:
    """The bind mounts for `container`'s volumeMounts, given each volume's host directory (`volume_paths`).
    Raises MountError for the first mount that is not safe. The API volumes (configMap, secret, downwardAPI,
    projected) are always read-only, as in Kubernetes: the kubelet owns their files."""
    binds = []
    for mount in container.get("volumeMounts") or []:
        if not isinstance(mount, dict):
            raise MountError(f"volumeMount {mount!r} is not an object")
        name = mount.get("name")
        if name not in volumes:
            raise MountError(f"volumeMount {name!r} names no volume of the pod")
        if volumes[str(name)][1] == MEMORY:
            if mount.get("subPath") or mount.get("subPathExpr"):
                raise MountError(f"volumeMount {name!r}: subPath is not supported on emptyDir medium Memory")
            continue  # mounted as a volume by runtime.spec.memory_mounts
        source = _source(volumes[str(name)][0], mount.get("subPath"), create=create)
        read_only = mount.get("readOnly") is True or volumes[str(name)][1] in (READ_ONLY, API_VOLUME)
        binds.append(Bind(source, check_target(mount), read_only))
    return binds
