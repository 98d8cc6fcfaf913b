"""What API-sourced volumes and container env are made of: ConfigMaps and Secrets read through a short-lived
cache, and the downward API (the pod's own fields, its containers' resources).

The messages are the kubelet's: a missing object is `configmap "x" not found`, a missing key in env is
`couldn't find key k in ConfigMap ns/x`, in a volume `configmap references non-existent config key: k`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from typing import Any

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError, is_not_found
from apimachinery.resources import must_resource
from kubelet.quantity import cpu_millis, memory_bytes
from kubelet.shared_reads import SharedReads

Obj = dict[str, Any]
KINDS = {
    "configMap": (must_resource("", "configmaps"), "configmap", "ConfigMap"),
    "secret": (must_resource("", "secrets"), "secret", "Secret"),
}
CACHE_TTL = 2.0  # seconds: pods synced together share one read; a change is seen at the next sync after it


class ConfigError(Exception):
    """A reference that cannot be resolved now (a missing object or key, an unreadable object, a bad path):
    the container is not created, the pod worker reports why and tries again."""


class ObjectCache:
    """ConfigMaps and Secrets by (kind, namespace, name), each read at most once per `ttl` seconds."""

    def __init__(self, client: Client, ttl: float = CACHE_TTL) -> None:
        self.client = client
        self.ttl = ttl
        self._entries: dict[tuple[str, str, str], tuple[float, Obj | None]] = {}
        self._reads: SharedReads[tuple[str, str, str], Obj | None] = SharedReads()

    async def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        """The object, None when it does not exist; ConfigError when it cannot be read. Pods that ask for the same
        object while it is being read share that one read (30 new pods, one kube-root-ca.crt GET)."""
        key = (kind, namespace, name)
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return await self._reads.get(key, lambda: self._read(key))

    async def _read(self, key: tuple[str, str, str]) -> Obj | None:
        kind, namespace, name = key
        resource, _, _ = KINDS[kind]
        obj: Obj | None
        try:
            obj = await self.client.get(resource, name, namespace)
        except StatusError as exc:
            if not is_not_found(exc):
                raise ConfigError(exc.message) from exc
            obj = None
        except ClientConnectionError as exc:
            raise ConfigError(f"cannot read {KINDS[kind][1]} {namespace}/{name}: {exc}") from exc
        self._entries[key] = (time.monotonic(), obj)
        if len(self._entries) > 4096:  # drop what has expired, so names seen once do not pile up
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
        return obj

    async def data(self, kind: str, namespace: str, name: str, *, optional: bool) -> dict[str, bytes] | None:
        """The object's keys and values; None when it is missing and optional; ConfigError when missing."""
        obj = await self.get(kind, namespace, name)
        if obj is None:
            if optional:
                return None
            raise ConfigError(f'{KINDS[kind][1]} "{name}" not found')
        return decode(kind, obj)


def decode(kind: str, obj: Obj) -> dict[str, bytes]:
    """A Secret's data (base64) or a ConfigMap's data and binaryData, as bytes by key."""
    try:
        if kind == "secret":
            return {
                str(k): base64.b64decode(v or "", validate=True) for k, v in (obj.get("data") or {}).items()
            }
        out = {str(k): str(v).encode() for k, v in (obj.get("data") or {}).items()}
        out.update({str(k): base64.b64decode(v or "", validate=True)
                    for k, v in (obj.get("binaryData") or {}).items()})  # fmt: skip
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{KINDS[kind][1]} {obj.get('metadata', {}).get('name')!r} holds bad data") from exc
    return out


# --- the downward API -----------------------------------------------------------------------------------------

_KEYED = re.compile(r"metadata\.(labels|annotations)\['([^']*)'\]")
VOLUME_FIELDS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
)


def format_map(values: dict[str, Any]) -> str:
    """labels or annotations as the downward API writes them: sorted `key="value"` lines (Go's %q quoting)."""
    return "\n".join(f"{k}={json.dumps(str(v), ensure_ascii=False)}" for k, v in sorted(values.items()))


def field_value(pod: Obj, path: str, *, pod_ip: str = "", host_ip: str = "") -> str:
    """A fieldRef's value; ConfigError for a path the downward API does not offer."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", "default"),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName") or spec.get("serviceAccount") or "",
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path])
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(md.get(path.split(".")[1]) or {})
    match = _KEYED.fullmatch(path)
    if match:
        return str((md.get(match.group(1)) or {}).get(match.group(2), ""))
    raise ConfigError(f"unsupported fieldPath: {path}")


def resource_value(container: Obj, ref: Obj, allocatable: dict[str, str]) -> str:
    """A resourceFieldRef's value: the container's request or limit (an unset limit is the node's allocatable),
    divided by the divisor and rounded up, as the kubelet does."""
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise ConfigError(f"unsupported container resource: {resource}")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(name)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(name)  # a request defaults to the limit
    if value is None and kind == "limits":
        value = allocatable.get(name)
    divisor = ref.get("divisor") or "1"
    try:
        if name == "cpu":
            div = max(1, cpu_millis(divisor))
            return str(-(-cpu_millis(value or 0) // div))
        return str(-(-memory_bytes(value or 0) // max(1, memory_bytes(divisor))))
    except ValueError as exc:
        raise ConfigError(f"invalid quantity in {resource}: {exc}") from exc


def find_container(pod: Obj, name: str) -> Obj:
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if isinstance(c, dict) and c.get("name") == name:
            return c
    raise ConfigError(f"container {name!r} not found in the pod")


def key_files(
    kind: str, name: str, data: dict[str, bytes] | None, items: Any, *, optional: bool, mode: int
) -> dict[str, tuple[bytes, int]]:
    """A ConfigMap's or Secret's keys as files: every key under its own name, or only the listed items (key ->
    path, mode). A listed key that is missing fails unless the reference is optional. `data` None = the object
    is missing and optional: no files."""
    if data is None:
        return {}
    if not items:
        return {key: (value, mode) for key, value in data.items()}
    out: dict[str, tuple[bytes, int]] = {}
    for item in items if isinstance(items, list) else []:
        item = item if isinstance(item, dict) else {}
        key = item.get("key")
        if key not in data:
            if optional:
                continue
            what = "configmap references non-existent config key" if kind == "configMap" else (
                "references non-existent secret key")  # fmt: skip
            raise ConfigError(f"{what}: {key}")
        out[str(item.get("path") or "")] = (data[key], _mode(item.get("mode"), mode))
    return out


def _mode(value: Any, default: int) -> int:
    """An item's mode, else the volume's default; only permission bits (the API allows 0 to 0777)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777:
        return value
    return default


def default_mode(source: Obj) -> int:
    return _mode(source.get("defaultMode"), 0o644)
