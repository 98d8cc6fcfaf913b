"""The API resources the kubelet reads and writes."""

from __future__ import annotations

from apimachinery.resources import must_resource

PODS = must_resource("", "pods")
NODES = must_resource("", "nodes")
NAMESPACES = must_resource("", "namespaces")
LEASES = must_resource("coordination.k8s.io", "leases")
