"""Nodes, namespaces, events, and the small ones: leases, configmaps, secrets."""

from __future__ import annotations

from datetime import datetime

from apiserver.printers.common import (
    Obj,
    Row,
    age,
    columns,
    name_of,
    since,
)

NODE_COLUMNS = columns(
    """
    Name
    Status: The status of the node
    Roles: The roles of the node
    Age
    Version: Kubelet Version reported by the node.
    Internal-IP [wide]: List of addresses reachable to the node.
    External-IP [wide]: List of addresses reachable to the node.
    OS-Image [wide]: OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).
    Kernel-Version [wide]: Kernel Version reported by the node from 'uname -r'.
    Container-Runtime [wide]: ContainerRuntime Version reported by the node through runtime remote API.
"""
)


def node_roles(node: Obj) -> str:
    """Roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role` labels, or `<none>`."""
    roles = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key != "node-role.kubernetes.io/":
            roles.add(key.removeprefix("node-role.kubernetes.io/"))
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def node_row(node: Obj, now: datetime) -> Row:
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    states = []
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            states = ["Ready" if cond.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")

    def address(kind: str) -> str:
        found = [a.get("address") for a in status.get("addresses") or [] if a.get("type") == kind]
        return found[0] if found else "<none>"

    cells = [
        name_of(node),
        ",".join(states),
        node_roles(node),
        age(node, now),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]
    return cells, None


NAMESPACE_COLUMNS = columns(
    """
    Name
    Status: The status of the namespace
    Age
"""
)


def namespace_row(obj: Obj, now: datetime) -> Row:
    return [name_of(obj), (obj.get("status") or {}).get("phase", ""), age(obj, now)], None


# --- events ---------------------------------------------------------------------------------------------------

EVENT_COLUMNS = columns(
    """
    Last Seen: The time at which the most recent occurrence of this event was recorded.
    Type: Type of this event (Normal, Warning), new types could be added in the future
    Reason: This should be a short, machine understandable string that gives the reason for the transition into the object's current status.
    Object: The object that this event is about.
    Subobject [wide]: If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.
    Source [wide]: The component reporting this event. Should be a short machine understandable string.
    Message: A human-readable description of the status of this operation.
    First Seen [wide]: The time at which the event was first recorded.
    Count [wide]: The number of times this event has occurred.
    Name [name,wide]: Name must be unique within a namespace.
"""
)


def event_row(event: Obj, now: datetime) -> Row:
    first = event.get("firstTimestamp") or event.get("eventTime")
    first_seen = since(first, now)
    last_seen = since(event["lastTimestamp"], now) if event.get("lastTimestamp") else first_seen
    count = event.get("count") or 1
    series = event.get("series")
    if series:
        last_seen = since(series.get("lastObservedTime"), now)
        count = series.get("count") or count
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = (
        source.get("component") or event.get("reportingComponent") or event.get("reportingController") or ""
    )
    host = source.get("host") or event.get("reportingInstance") or ""
    cells = [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {host}" if host else component,
        str(event.get("message") or "").strip(),
        first_seen,
        int(count),
        name_of(event),
    ]
    return cells, None


# --- the rest -------------------------------------------------------------------------------------------------

LEASE_COLUMNS = columns(
    """
    Name
    Holder: holderIdentity contains the identity of the holder of a current lease.
    Age
"""
)
CONFIGMAP_COLUMNS = columns(
    """
    Name
    Data: Data contains the configuration data.
    Age
"""
)
SECRET_COLUMNS = columns(
    """
    Name
    Type: Used to facilitate programmatic handling of secret data.
    Data: Data contains the secret data.
    Age
"""
)


def lease_row(obj: Obj, now: datetime) -> Row:
    return [name_of(obj), (obj.get("spec") or {}).get("holderIdentity") or "", age(obj, now)], None


def configmap_row(obj: Obj, now: datetime) -> Row:
    size = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [name_of(obj), size, age(obj, now)], None


def secret_row(obj: Obj, now: datetime) -> Row:
    return [name_of(obj), obj.get("type") or "Opaque", len(obj.get("data") or {}), age(obj, now)], None
