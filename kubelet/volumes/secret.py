"""secret volumes: the keys of a Secret of the pod's namespace as files (all of them, or the listed items).

The files live under the pod's `kubernetes.io~secret` directory, which is 0700 so that no other user of the host
can reach them; when the kubelet may mount (it runs as root) each secret volume is a tmpfs of its own, so the
values never reach a disk (see `tmpfs`)."""

from __future__ import annotations

from typing import Any

from kubelet.volumes.atomic import Payload
from kubelet.volumes.sources import ObjectCache, default_mode, key_files


async def payload(objects: ObjectCache, pod: dict[str, Any], volume: dict[str, Any]) -> Payload:
    source = volume.get("secret") or {}
    name = str(source.get("secretName") or "")
    optional = source.get("optional") is True
    data = await objects.data("secret", pod["metadata"].get("namespace", ""), name, optional=optional)
    return key_files("secret", name, data, source.get("items"), optional=optional, mode=default_mode(source))
