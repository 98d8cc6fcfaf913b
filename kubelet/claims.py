"""persistentVolumeClaim volumes, and the node side of the local-path provisioner.

Before a pod's containers are created, `ClaimVolumes.prepare(pod)` resolves each persistentVolumeClaim volume:
the claim must be Bound, its volume a hostPath or local one that admits this node. A local volume must be a
directory directly under this kubelet's local volume root (`--local-path-root`; apimachinery.storage checks the
path through symlinks): a volume the local-path provisioner made is created here (after this node's finalizer is
on the PV, so the directory is never left behind), any other must exist. The result is a symlink
`<pod dir>/volumes/kubernetes.io~pvc/<volume>` to the volume's directory; runtime.spec maps the volume to it and
runtime.mounts resolves and confines subPaths under the directory it points to. Removing the pod's directory
removes the link, never the data.

`sweep()` runs every few seconds: for each provisioned directory under the root whose PersistentVolume is being
deleted, it removes the directory (checked again; only when the volume's reclaim policy is Delete: a Retain
volume's data stays for its administrator, as upstream) and then this node's finalizer. A directory whose volume
this node may not read (gone, or not pinned here) is left alone and not asked about again. The Node authorizer lets a
kubelet read and update only the local volumes pinned to it, and NodeRestriction only that finalizer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from apimachinery import storage
from apimachinery.client import Client
from apimachinery.errors import StatusError, is_conflict, is_forbidden, is_not_found
from apimachinery.resources import must_resource
from kubelet.runtime import spec
from kubelet.runtime.mounts import check_host_path, check_volume_name

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PVS = must_resource("", "persistentvolumes")
PVCS = must_resource("", "persistentvolumeclaims")
LINK_DIR = "kubernetes.io~pvc"


class ClaimError(Exception):
    """A claim that cannot be mounted (yet): unbound, missing volume, wrong node, path outside the root."""


def link_path(root_dir: Path, pod: Obj, name: str) -> Path:
    return spec.pod_dir(root_dir, pod) / "volumes" / LINK_DIR / check_volume_name(name)


class ClaimVolumes:
    def __init__(self, client: Client, root_dir: Path, local_root: Path, node_name: str) -> None:
        self.client = client
        self.root_dir = root_dir
        self.local_root = local_root
        self.node_name = node_name
        self.left_alone: set[str] = set()  # directories whose volume this node may not read

    async def prepare(self, pod: Obj) -> dict[str, str]:
        """Link every persistentVolumeClaim volume of the pod to its directory; ClaimError if one cannot be.
        Returns the volumes backed by local persistent volumes (name -> directory): those get the pod's fsGroup
        (hostPath ones do not, as upstream)."""
        namespace = pod["metadata"].get("namespace") or "default"
        local: dict[str, str] = {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            source = (volume or {}).get("persistentVolumeClaim")
            if source is None:
                continue
            target, is_local = await self._directory(namespace, str(source.get("claimName") or ""))
            link = link_path(self.root_dir, pod, volume.get("name"))
            await asyncio.to_thread(_relink, link, target)
            if is_local:
                local[str(volume.get("name"))] = target
        return local

    async def _directory(self, namespace: str, claim_name: str) -> tuple[str, bool]:
        try:
            claim = await self.client.get(PVCS, claim_name, namespace)
        except StatusError as exc:
            raise ClaimError(f'persistentvolumeclaim "{claim_name}": {exc.message}') from exc
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
            raise ClaimError(f'persistentvolumeclaim "{claim_name}" is not bound')
        try:
            pv = await self.client.get(PVS, volume_name)
        except StatusError as exc:
            raise ClaimError(f'persistentvolume "{volume_name}": {exc.message}') from exc
        pv_spec = pv.get("spec") or {}
        pinned = storage.node_of(pv)
        if pinned is not None and pinned != self.node_name:
            raise ClaimError(
                f'persistentvolume "{volume_name}" is pinned to node {pinned}, not {self.node_name}'
            )
        if pv_spec.get("hostPath"):
            return check_host_path(pv_spec["hostPath"].get("path")), False
        if not pv_spec.get("local"):
            raise ClaimError(
                f'persistentvolume "{volume_name}" is neither hostPath nor local: not supported here'
            )
        try:
            path = storage.check_local_path(str(self.local_root), pv_spec["local"].get("path"))
        except storage.PathError as exc:
            raise ClaimError(f'persistentvolume "{volume_name}" refused: {exc}') from exc
        if (pv["metadata"].get("annotations") or {}).get(
            storage.PROVISIONED_BY
        ) == storage.LOCAL_PATH_PROVISIONER:
            await self._hold(pv)
            await asyncio.to_thread(os.makedirs, path, 0o777, True)
        elif not await asyncio.to_thread(os.path.isdir, path):
            raise ClaimError(f'persistentvolume "{volume_name}": directory {path} does not exist')
        return path, True

    async def _hold(self, pv: Obj) -> None:
        """This node's finalizer on a provisioned volume, before its directory exists."""
        finalizers = list(pv["metadata"].get("finalizers") or [])
        if storage.LOCAL_PATH_FINALIZER in finalizers:
            return
        if pv["metadata"].get("deletionTimestamp"):
            raise ClaimError(f'persistentvolume "{pv["metadata"]["name"]}" is being deleted')
        pv["metadata"]["finalizers"] = [*finalizers, storage.LOCAL_PATH_FINALIZER]
        await self.client.update(PVS, pv)

    # ---- deleting -------------------------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Remove the directories of provisioned volumes being deleted, then release their finalizer."""
        names = await asyncio.to_thread(_provisioned_dirs, self.local_root)
        for name in names:
            if name in self.left_alone:
                continue
            try:
                pv = await self.client.get(PVS, name)
            except StatusError as exc:
                if is_forbidden(exc) or is_not_found(exc):
                    self.left_alone.add(name)
                log.info("local volume %s left alone (HTTP %s from the apiserver)", name, exc.code)
                continue
            if not pv["metadata"].get("deletionTimestamp"):
                continue
            if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") != "Delete":
                await self._release(pv)
                self.left_alone.add(name)
                continue
            try:
                path = storage.check_local_path(
                    str(self.local_root), (pv.get("spec") or {}).get("local", {}).get("path")
                )
            except storage.PathError as exc:
                log.warning("not deleting local volume %s: %s", name, exc)
                continue
            if os.path.basename(path) != name:
                continue
            await asyncio.to_thread(shutil.rmtree, path, True)
            log.info("deleted local volume %s at %s", name, path)
            await self._release(pv)

    async def _release(self, pv: Obj) -> None:
        finalizers = list(pv["metadata"].get("finalizers") or [])
        if storage.LOCAL_PATH_FINALIZER not in finalizers:
            return
        pv["metadata"]["finalizers"] = [f for f in finalizers if f != storage.LOCAL_PATH_FINALIZER]
        try:
            await self.client.update(PVS, pv)
        except StatusError as exc:
            if not (is_not_found(exc) or is_conflict(exc)):
                raise


def _relink(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(target, link)


def _provisioned_dirs(root: Path) -> list[str]:
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    return [
        e.name for e in entries if storage.is_local_path_pv_name(e.name) and e.is_dir(follow_symlinks=False)
    ]
