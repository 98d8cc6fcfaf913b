"""Projected volumes: the files of a pod's `projected` volumes, written on the node before its containers start
and kept current, above all the `kube-api-access-*` volume that gives every pod its API credentials
(/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}).

Sources: serviceAccountToken (a TokenRequest bound to the pod, refreshed once 80% of its life has passed, as the
kubelet's token manager does), configMap and secret (items, optional), downwardAPI (metadata fields).

Files are swapped in atomically, as Kubernetes' AtomicWriter does: a new timestamped directory is filled, the
`..data` symlink is switched to it in one rename, and each top-level name is a symlink through `..data`; a
container reading the token never sees half a file. Item paths come from the API and end up as host paths, so
they are checked again here (relative, no `..`).
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.resources import must_resource
from kubelet.runtime import spec
from kubelet.runtime.mounts import MountError, check_volume_name

log = logging.getLogger("kubelet.projected")

Obj = dict[str, Any]
SERVICE_ACCOUNTS = must_resource("", "serviceaccounts")
CONFIGMAPS = must_resource("", "configmaps")
SECRETS = must_resource("", "secrets")
DEFAULT_MODE = 0o644
REFRESH_AT = 0.8  # of a token's lifetime


class VolumeError(Exception):
    """A projected volume cannot be written (a missing object, a bad path): CreateContainerConfigError."""


def volume_dir(root_dir: Path, pod: Obj, name: str) -> Path:
    """The volume's directory, from a uid and a volume name checked again here (they become a host path)."""
    try:
        return spec.pod_dir(root_dir, pod) / "volumes" / "kubernetes.io~projected" / check_volume_name(name)
    except MountError as exc:
        raise VolumeError(str(exc)) from None


def check_path(path: str) -> str:
    """An item path as the API allows it: relative, without `..` (validated again here: it becomes a host path)."""
    parts = PurePosixPath(path).parts
    if not path or path.startswith("/") or ".." in parts or any(p.startswith("..") for p in parts):
        raise VolumeError(f"invalid path {path!r} in a projected volume")
    return path


def field_value(pod: Obj, field_path: str) -> str:
    md = pod.get("metadata") or {}
    simple = {"metadata.name": "name", "metadata.namespace": "namespace", "metadata.uid": "uid"}
    if field_path in simple:
        return str(md.get(simple[field_path], ""))
    for field in ("labels", "annotations"):
        values = md.get(field) or {}
        if field_path == f"metadata.{field}":
            return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
        prefix = f"metadata.{field}['"
        if field_path.startswith(prefix) and field_path.endswith("']"):
            return str(values.get(field_path[len(prefix) : -2], ""))
    raise VolumeError(f"unsupported fieldPath {field_path!r} in a downwardAPI projection")


class ProjectedVolumes:
    def __init__(self, client: Client, root_dir: Path) -> None:
        self.client = client
        self.root_dir = root_dir
        # (pod uid, volume, path) -> (issued, expires): when each token was fetched and when it runs out
        self.tokens: dict[tuple[str, str, str], tuple[float, float]] = {}

    async def prepare(self, pod: Obj) -> None:
        """Write every projected volume of `pod` (VolumeError when one cannot be)."""
        uid = pod["metadata"].get("uid", "")
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if "projected" not in (volume or {}):
                continue
            if self._current(uid, volume["name"]) and volume_dir(self.root_dir, pod, volume["name"]).exists():
                continue  # written for an earlier container of this pod, tokens still fresh
            await self._write(pod, volume)

    def _current(self, uid: str, volume: str) -> bool:
        now = time.time()
        lives = [(i, e) for (u, v, _), (i, e) in self.tokens.items() if u == uid and v == volume]
        return bool(lives) and all(i + REFRESH_AT * (e - i) > now for i, e in lives)

    async def refresh(self, pods: Iterable[Obj]) -> None:
        """Rewrite the volumes whose tokens are past 80% of their lifetime."""
        now = time.time()
        for pod in pods:
            uid = pod["metadata"].get("uid", "")
            for volume in (pod.get("spec") or {}).get("volumes") or []:
                if "projected" not in (volume or {}):
                    continue
                due = [
                    issued + REFRESH_AT * (expires - issued)
                    for (u, v, _), (issued, expires) in self.tokens.items()
                    if u == uid and v == volume["name"]
                ]
                if due and min(due) <= now:
                    try:
                        await self._write(pod, volume)
                    except (VolumeError, StatusError, ConnectionError) as exc:
                        log.warning("token refresh failed for %s: %s", pod["metadata"].get("name"), exc)

    def forget(self, uid: str) -> None:
        for key in [k for k in self.tokens if k[0] == uid]:
            del self.tokens[key]

    async def _write(self, pod: Obj, volume: Obj) -> None:
        projected = volume.get("projected") or {}
        default_mode = projected.get("defaultMode", DEFAULT_MODE)
        files: dict[str, tuple[bytes, int]] = {}
        for source in projected.get("sources") or []:
            for path, data, mode in await self._source(pod, volume["name"], source or {}):
                files[check_path(path)] = (data, default_mode if mode is None else int(mode))
        write_atomically(volume_dir(self.root_dir, pod, volume["name"]), files)

    async def _source(self, pod: Obj, volume: str, source: Obj) -> list[tuple[str, bytes, int | None]]:
        md = pod["metadata"]
        namespace = md.get("namespace", "")
        if "serviceAccountToken" in source:
            spec = source["serviceAccountToken"] or {}
            token, expires = await self._token(pod, spec)
            self.tokens[(md.get("uid", ""), volume, spec.get("path", "token"))] = (time.time(), expires)
            return [(spec.get("path", "token"), token.encode(), None)]
        if "configMap" in source or "secret" in source:
            kind = "configMap" if "configMap" in source else "secret"
            ref = source[kind] or {}
            res = CONFIGMAPS if kind == "configMap" else SECRETS
            try:
                obj = await self.client.get(res, ref.get("name", ""), namespace)
            except StatusError as exc:
                if exc.code == 404 and ref.get("optional"):
                    return []
                raise VolumeError(f'{kind} "{ref.get("name")}" not found') from exc
            data = _data(obj, kind)
            items = ref.get("items")
            if not items:
                return [(key, value, None) for key, value in data.items()]
            out = []
            for item in items:
                if item.get("key") not in data:
                    if ref.get("optional"):
                        continue
                    raise VolumeError(f'key "{item.get("key")}" not found in {kind} "{ref.get("name")}"')
                out.append((item.get("path", ""), data[item["key"]], item.get("mode")))
            return out
        if "downwardAPI" in source:
            return [
                (item.get("path", ""), field_value(pod, (item.get("fieldRef") or {}).get("fieldPath", "")).encode(),
                 item.get("mode"))
                for item in (source["downwardAPI"] or {}).get("items") or []
            ]  # fmt: skip
        return []

    async def _token(self, pod: Obj, spec: Obj) -> tuple[str, float]:
        md = pod["metadata"]
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        request: Obj = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": account},
            "spec": {
                "expirationSeconds": int(spec.get("expirationSeconds") or 3600),
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": md["name"], "uid": md["uid"]},
            },
        }
        if spec.get("audience"):
            request["spec"]["audiences"] = [spec["audience"]]
        try:
            answer = await self.client.create(
                SERVICE_ACCOUNTS, request, md.get("namespace"), subresource="token"
            )
        except StatusError as exc:
            raise VolumeError(f"failed to fetch token: {exc.message}") from exc
        status = answer.get("status") or {}
        expires = _epoch(status.get("expirationTimestamp")) or time.time() + 3600
        return str(status.get("token") or ""), expires


def _data(obj: Obj, kind: str) -> dict[str, bytes]:
    if kind == "secret":
        return {k: base64.b64decode(v or "") for k, v in (obj.get("data") or {}).items()}
    out = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    out.update({k: base64.b64decode(v or "") for k, v in (obj.get("binaryData") or {}).items()})
    return out


def _epoch(stamp: str | None) -> float:
    import datetime as dt

    if not stamp:
        return 0.0
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def write_atomically(directory: Path, files: dict[str, tuple[bytes, int]]) -> None:
    """Kubernetes' AtomicWriter: fill a new `..<timestamp>` dir, swap `..data` to it, link the top-level names."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    data_dir = directory / stamp
    data_dir.mkdir()
    for path, (content, mode) in files.items():
        target = data_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o777)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(target, mode & 0o777)
    previous = os.readlink(directory / "..data") if (directory / "..data").is_symlink() else None
    tmp_link = directory / "..data_tmp"
    tmp_link.unlink(missing_ok=True)
    os.symlink(stamp, tmp_link)
    os.replace(tmp_link, directory / "..data")
    for top in {PurePosixPath(p).parts[0] for p in files}:
        link = directory / top
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link) if link.is_dir() else link.unlink()
            os.symlink(f"..data/{top}", link)
    if previous and previous != stamp:
        shutil.rmtree(directory / previous, ignore_errors=True)
