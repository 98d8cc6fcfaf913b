"""configMap volumes: the keys of a ConfigMap of the pod's namespace as files (all of them, or the listed items)."""

from __future__ import annotations

from typing import Any

from kubelet.volumes.atomic import Payload
from kubelet.volumes.sources import ObjectCache, default_mode, key_files


async def payload(objects: ObjectCache, pod: dict[str, Any], volume: dict[str, Any]) -> Payload:
    source = volume.get("configMap") or {}
    name = str(source.get("name") or "")
    optional = source.get("optional") is True
    data = await objects.data("configMap", pod["metadata"].get("namespace", ""), name, optional=optional)
    return key_files(
        "configMap", name, data, source.get("items"), optional=optional, mode=default_mode(source)
    )
