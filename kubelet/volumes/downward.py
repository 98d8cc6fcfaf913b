"""downwardAPI volumes: the pod's own metadata (name, namespace, uid, labels, annotations) and its containers'
resources as files. Labels and annotations change while the pod runs: the files follow at the next pod sync."""

from __future__ import annotations

from typing import Any

from kubelet.volumes.atomic import Payload
from kubelet.volumes.sources import (
    VOLUME_FIELDS,
    ConfigError,
    default_mode,
    field_value,
    find_container,
    resource_value,
)

Obj = dict[str, Any]


def files(pod: Obj, items: Any, mode: int, allocatable: dict[str, str]) -> Payload:
    """The files of a downwardAPI volume or projection."""
    out: Payload = {}
    for item in items if isinstance(items, list) else []:
        item = item if isinstance(item, dict) else {}
        item_mode = item.get("mode")
        if not (isinstance(item_mode, int) and not isinstance(item_mode, bool) and 0 <= item_mode <= 0o777):
            item_mode = mode
        path = str(item.get("path") or "")
        if item.get("fieldRef"):
            field_path = str((item["fieldRef"] or {}).get("fieldPath") or "")
            if field_path not in VOLUME_FIELDS and not field_path.startswith(
                ("metadata.labels[", "metadata.annotations[")
            ):
                raise ConfigError(f"unsupported fieldPath in a downwardAPI volume: {field_path}")
            out[path] = (field_value(pod, field_path).encode(), item_mode)
        elif item.get("resourceFieldRef"):
            ref = item["resourceFieldRef"] or {}
            container = find_container(pod, str(ref.get("containerName") or ""))
            out[path] = (resource_value(container, ref, allocatable).encode(), item_mode)
    return out


def payload(pod: Obj, volume: Obj, allocatable: dict[str, str]) -> Payload:
    source = volume.get("downwardAPI") or {}
    return files(pod, source.get("items"), default_mode(source), allocatable)
