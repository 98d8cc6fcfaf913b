"""The ResourceInfo of each kind the client-side tests create or watch (apimachinery.client.Client takes these)."""

from __future__ import annotations

from apimachinery.resources import ResourceInfo, by_resource


def resource(group: str, name: str) -> ResourceInfo:
    """The served resource `name` of API group `group` ("" for core); fails if it is not served."""
    info = by_resource(group, name)
    assert info is not None, f"{group}/{name} is not served"
    return info


CONFIGMAPS = resource("", "configmaps")
ENDPOINTS = resource("", "endpoints")
EVENTS = resource("", "events")
NAMESPACES = resource("", "namespaces")
NODES = resource("", "nodes")
PODS = resource("", "pods")
RCS = resource("", "replicationcontrollers")
SERVICES = resource("", "services")
DEPLOYMENTS = resource("apps", "deployments")
DAEMONSETS = resource("apps", "daemonsets")
REPLICASETS = resource("apps", "replicasets")
REVISIONS = resource("apps", "controllerrevisions")
STATEFULSETS = resource("apps", "statefulsets")
CRONJOBS = resource("batch", "cronjobs")
JOBS = resource("batch", "jobs")
LEASES = resource("coordination.k8s.io", "leases")
