"""The pod's API-sourced volumes on this node: written before its containers start, kept current on every sync.

`set_up(pod)` writes each configMap, secret, downwardAPI and projected volume of the pod that is not current
(an unchanged payload is not rewritten) and returns the volumes it could not write, with the reason; the pod
worker does not start containers while any is failing (FailedMount, as the kubelet reports it), and logs the
failures of a running pod's resync without stopping anything. `tear_down(uid)` forgets a pod's tokens and
unmounts its tmpfs volumes.

Directories: `<root>/pods/<uid>/volumes/<plugin dir>/<volume>`, the uid and volume name checked again here (they
become host paths). The `kubernetes.io~secret` and `kubernetes.io~projected` directories (tokens) are 0700: only
root on the host reaches those files; each of their volumes is a tmpfs when the kubelet may mount (`tmpfs`).
With the pod's fsGroup their files are that group's and group-readable (`ownership`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apimachinery.client import Client
from apimachinery.writerpool import WriterPool
from kubelet.runtime.mounts import MountError, check_volume_name
from kubelet.runtime.spec import valid_uid
from kubelet.volumes import PLUGIN_DIRS, api_volume_kind, configmap, downward, projected, secret
from kubelet.volumes.atomic import PathError, write_atomically
from kubelet.volumes.ownership import OwnershipError, fs_group
from kubelet.volumes.sources import ConfigError, ObjectCache
from kubelet.volumes.tmpfs import Mounter, unmount_under

log = logging.getLogger("kubelet.volumes")

Obj = dict[str, Any]
PRIVATE_KINDS = ("secret", "projected")


@dataclass(frozen=True)
class SetUpFailure:
    volume: str
    reason: str

    def message(self) -> str:
        """The event text, as the kubelet writes it."""
        return f'MountVolume.SetUp failed for volume "{self.volume}" : {self.reason}'


def volume_dir(root_dir: Path, uid: str, kind: str, name: str) -> Path:
    if not valid_uid(uid):
        raise MountError(f"pod uid {uid!r} is not a valid uid")
    return root_dir / "pods" / uid / "volumes" / PLUGIN_DIRS[kind] / check_volume_name(name)


class ApiVolumes:
    def __init__(
        self,
        client: Client,
        root_dir: Path,
        allocatable: Callable[[], dict[str, str]] = dict,
        *,
        tmpfs: bool = True,
        writers: WriterPool | None = None,
    ) -> None:
        self.root_dir = root_dir
        self.mounter = Mounter(tmpfs)
        self.objects = ObjectCache(client)
        self.tokens = projected.Tokens(writers or WriterPool(client, 4))
        self.allocatable = allocatable

    async def set_up(self, pod: Obj) -> list[SetUpFailure]:
        failures = []
        uid = str(pod["metadata"].get("uid", ""))
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            kind = api_volume_kind(volume)
            if kind is None:
                continue
            name = str(volume.get("name"))
            try:
                files = await self._payload(kind, pod, volume)
                directory = volume_dir(self.root_dir, uid, kind, name)
                if kind in PRIVATE_KINDS:
                    directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    directory.parent.chmod(0o700)
                    if not directory.is_symlink():
                        directory.mkdir(exist_ok=True)
                        await self.mounter.ensure(directory)
                if write_atomically(directory, files, group=fs_group(pod)):
                    log.info(
                        "volume %s of pod %s written (%d files)",
                        name,
                        pod["metadata"].get("name"),
                        len(files),
                    )
            except (ConfigError, PathError, MountError, OwnershipError, OSError) as exc:
                failures.append(SetUpFailure(name, str(exc)))
        return failures

    async def _payload(self, kind: str, pod: Obj, volume: Obj) -> dict[str, tuple[bytes, int]]:
        if kind == "configMap":
            return await configmap.payload(self.objects, pod, volume)
        if kind == "secret":
            return await secret.payload(self.objects, pod, volume)
        if kind == "downwardAPI":
            return downward.payload(pod, volume, self.allocatable())
        return await projected.payload(self.objects, self.tokens, pod, volume, self.allocatable())

    async def tear_down(self, uid: str) -> None:
        """Forget the pod's tokens and unmount its tmpfs volumes (before its directory is removed)."""
        self.tokens.forget(uid)
        if valid_uid(uid):
            await unmount_under(self.root_dir / "pods" / uid)
