"""Volumes whose files the kubelet writes from the API: configMap, secret, downwardAPI and projected.

Each kind has its module that turns a volume into a payload (relative path -> bytes and mode); `manager` writes
payloads with `atomic.write_atomically` before a pod's containers start and again on every pod sync, so that a
changed ConfigMap, Secret or label reaches the mounted files (env does not change, as in Kubernetes). `sources`
reads the objects (through a short-lived cache) and the downward API values, shared with container env.

The kinds and the directory of each under `<root>/pods/<uid>/volumes/` (the names the kubelet uses):
"""

from __future__ import annotations

from typing import Any

PLUGIN_DIRS = {
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}
API_VOLUME = "API"  # the "type" `runtime.spec.volume_paths` gives these volumes: always bound read-only


def api_volume_kind(volume: dict[str, Any]) -> str | None:
    """configMap, secret, downwardAPI or projected when the volume is one of those, else None."""
    for kind in PLUGIN_DIRS:
        if isinstance(volume, dict) and volume.get(kind) is not None:
            return kind
    return None
