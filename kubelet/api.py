"""The API resources the kubelet reads and writes."""

from __future__ import annotations

from apimachinery.resources import ResourceInfo, by_resource


def _resource(group: str, name: str) -> ResourceInfo:
    info = by_resource(group, name)
    if info is None:
        raise LookupError(f"resource {name!r} of group {group!r} is not in apimachinery.resources")
    return info


PODS = _resource("", "pods")
NODES = _resource("", "nodes")
NAMESPACES = _resource("", "namespaces")
LEASES = _resource("coordination.k8s.io", "leases")
