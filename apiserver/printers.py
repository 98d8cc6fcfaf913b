"""Server-side `Table` (meta.k8s.io/v1) rendering for `kubectl get`, column for column like kube-apiserver.

kubectl prints the cells verbatim, so everything human-readable (ages, `1/1`, `80:30080/TCP`) is computed here.
The server always sends the wide (`priority: 1`) columns too; kubectl hides them unless `-o wide`.
The row logic follows kubernetes `pkg/printers/internalversion/printers.go`; the code is our own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
Row = tuple[list[Any], list[dict[str, Any]] | None]  # cells, row conditions

_NAME_DOC = "Name must be unique within a namespace."
_AGE_DOC = "CreationTimestamp is a timestamp representing the server time when this object was created."
_CONTAINERS_DOC = "Names of each container in the template."
_IMAGES_DOC = "Images referenced by each container in the template."


def _col(name: str, description: str = "", *, type_: str = "string", fmt: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def _columns(text: str) -> list[Obj]:
    """Column definitions, one a line: `Title [flags]: description`, flags from name (the name column),
    integer, date (the cell type) and wide (priority 1); a bare `Name` or `Age` is the standard column."""
    columns = []
    for line in text.strip().splitlines():
        line = line.strip()
        if line == "Name":
            columns.append(_col("Name", _NAME_DOC, fmt="name"))
            continue
        if line == "Age":
            columns.append(_col("Age", _AGE_DOC))
            continue
        head, _, description = line.partition(": ")
        title, _, flag_text = head.partition(" [")
        flags = set(flag_text.rstrip("]").split(",")) if flag_text else set()
        cell_type = "integer" if "integer" in flags else "date" if "date" in flags else "string"
        name_format = "name" if "name" in flags else ""
        columns.append(
            _col(title, description, type_=cell_type, fmt=name_format, priority=int("wide" in flags))
        )
    return columns


# --- time -----------------------------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """kubectl's short duration (`5s`, `3m2s`, `2d3h`, `3y`), as apimachinery's duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (`2026-11-27T08:17:33Z`, fractions allowed) or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _since(value: Any, now: datetime) -> str:
    when = parse_time(value)
    return "<unknown>" if when is None else human_duration((now - when).total_seconds())


# --- small formatters -----------------------------------------------------------------------------------------


def format_labels(labels: dict[str, str] | None) -> str:
    """`a=b,c=d` sorted by key, or `<none>` (labels.FormatLabels)."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_selector(selector: Obj | None) -> str:
    """A LabelSelector in selector syntax, requirements sorted by key, or `<none>`."""
    if not selector:
        return "<none>"
    parts: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or [])
        if op == "In":
            parts.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
    return ",".join(text for _, text in sorted(parts)) or "<none>"


def _containers(template_spec: Obj) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _template_spec(obj: Obj) -> Obj:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


# --- pods -----------------------------------------------------------------------------------------------------


def _is_restartable_init(container: Obj | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _terminated_reason(term: Obj, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _condition_true(conditions: list[Obj], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def pod_status(pod: Obj, now: datetime | None = None) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS) of a pod, as `kubectl get pods` shows them."""
    now = now or datetime.now(UTC)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    conditions = status.get("conditions") or []
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _is_restartable_init(c))
    ready = restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    def later(current: datetime | None, cs: Obj) -> datetime | None:
        finished = parse_time(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
        return finished if finished and (current is None or finished > current) else current

    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        last_restart = later(last_restart, cs)
        sidecar = _is_restartable_init(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            last_sidecar_restart = later(last_sidecar_restart, cs)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = later(last_restart, cs)
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting") or {}, state.get("terminated")
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"

    if pod.get("metadata", {}).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration((now - last_restart).total_seconds())} ago)"
    return f"{ready}/{total}", reason, restarts_text


POD_COLUMNS = _columns(
    """
    Name
    Ready: The aggregate readiness state of this pod for accepting traffic.
    Status: The aggregate status of the containers in this pod.
    Restarts: How many times the containers of this pod restarted, and when the last restart was.
    Age
    IP [wide]: podIP address allocated to the pod.
    Node [wide]: NodeName is the node the pod is scheduled onto.
    Nominated Node [wide]: nominatedNodeName is set when this pod preempts other pods on the node.
    Readiness Gates [wide]: If specified, all readiness gates will be evaluated for pod readiness.
"""
)


def _pod_row(pod: Obj, now: datetime) -> Row:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ready, reason, restarts = pod_status(pod, now)
    pod_ips = status.get("podIPs") or []
    ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        by_type = {c.get("type"): c.get("status") for c in reversed(status.get("conditions") or [])}
        true = sum(1 for g in gates if by_type.get(g.get("conditionType")) == "True")
        gates_text = f"{true}/{len(gates)}"
    conditions = None
    if status.get("phase") == "Succeeded":
        conditions = [_row_completed("Succeeded", "The pod has completed successfully.")]
    elif status.get("phase") == "Failed":
        conditions = [_row_completed("Failed", "The pod failed.")]
    cells = [
        _name(pod),
        ready,
        reason,
        restarts,
        _age(pod, now),
        ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_text,
    ]
    return cells, conditions


def _row_completed(reason: str, message: str) -> Obj:
    return {"type": "Completed", "status": "True", "reason": reason, "message": message}


# --- workloads ------------------------------------------------------------------------------------------------

DEPLOYMENT_COLUMNS = _columns(
    """
    Name
    Ready: Number of the pod with ready state
    Up-to-date: Total number of non-terminated pods targeted by this deployment that have the desired template spec.
    Available: Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.
    Age
    Containers [wide]: Names of each container in the template.
    Images [wide]: Images referenced by each container in the template.
    Selector [wide]: Label selector for pods.
"""
)


def _deployment_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_template_spec(obj))
    desired = spec.get("replicas", 1)
    cells = [
        _name(obj),
        f"{status.get('readyReplicas', 0)}/{desired}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        _age(obj, now),
        names,
        images,
        format_selector(spec.get("selector")),
    ]
    return cells, None


REPLICASET_COLUMNS = _columns(
    """
    Name
    Desired [integer]: Replicas is the number of desired replicas.
    Current [integer]: Replicas is the most recently observed number of replicas.
    Ready [integer]: The number of ready replicas for this replica set.
    Age
    Containers [wide]: Names of each container in the template.
    Images [wide]: Images referenced by each container in the template.
    Selector [wide]: Selector is a label query over pods that should match the replica count.
"""
)


def _replicaset_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_template_spec(obj))
    cells = [
        _name(obj),
        int(spec.get("replicas", 1)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        _age(obj, now),
        names,
        images,
        format_selector(spec.get("selector")),
    ]
    return cells, None


DAEMONSET_COLUMNS = _columns(
    """
    Name
    Desired [integer]: The total number of nodes that should be running the daemon pod.
    Current [integer]: The number of nodes running at least one daemon pod that are supposed to.
    Ready [integer]: The number of nodes that should be running the daemon pod and have it ready.
    Up-to-date [integer]: The number of nodes running the updated daemon pod.
    Available [integer]: The number of nodes that should be running the daemon pod and have it available.
    Node Selector: NodeSelector is a selector which must be true for the pod to fit on a node.
    Age
    Containers [wide]: Names of each container in the template.
    Images [wide]: Images referenced by each container in the template.
    Selector [wide]: A label query over pods that are managed by the daemon set.
"""
)


def _daemonset_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_template_spec(obj))
    counts = ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled")
    cells: list[Any] = [
        _name(obj),
        *(int(status.get(c, 0)) for c in counts),
        int(status.get("numberAvailable", 0)),
    ]
    cells += [format_labels(_template_spec(obj).get("nodeSelector")), _age(obj, now), names, images]
    return [*cells, format_selector(spec.get("selector"))], None


JOB_COLUMNS = _columns(
    """
    Name
    Status: Status of the job.
    Completions: The number of pods which reached phase Succeeded.
    Duration: Time required to complete the job.
    Age
    Containers [wide]: Names of each container in the template.
    Images [wide]: Images referenced by each container in the template.
    Selector [wide]: A label query over pods that should match the pod count.
"""
)


def _job_row(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded", 0))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration(((end or now) - start).total_seconds())
    conditions = status.get("conditions") or []
    if _condition_true(conditions, "Complete"):
        state = "Complete"
    elif _condition_true(conditions, "Failed"):
        state = "Failed"
    elif (obj.get("metadata") or {}).get("deletionTimestamp"):
        state = "Terminating"
    elif _condition_true(conditions, "Suspended"):
        state = "Suspended"
    elif _condition_true(conditions, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _containers(_template_spec(obj))
    cells = [_name(obj), state, completions, duration, _age(obj, now), names, images]
    return [*cells, format_selector(spec.get("selector"))], None


# --- services, endpoints --------------------------------------------------------------------------------------

SERVICE_COLUMNS = _columns(
    """
    Name
    Type: type determines how the Service is exposed.
    Cluster-IP: clusterIP is the IP address of the service.
    External-IP: externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.
    Port(s): The list of ports that are exposed by this service.
    Age
    Selector [wide]: Route service traffic to pods with label keys and values matching this selector.
"""
)


def _external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    external = list(spec.get("externalIPs") or [])
    kind = spec.get("type") or "ClusterIP"
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lb = sorted({i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")})
        return ",".join(lb + external) or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def format_ports(ports: list[Obj] | None) -> str:
    """`80/TCP,443:30443/TCP` (port[:nodePort]/protocol), or `<none>`."""
    pieces = []
    for port in ports or []:
        protocol = port.get("protocol") or "TCP"
        node_port = port.get("nodePort")
        pieces.append(
            f"{port.get('port')}:{node_port}/{protocol}" if node_port else f"{port.get('port')}/{protocol}"
        )
    return ",".join(pieces) or "<none>"


def _service_row(svc: Obj, now: datetime) -> Row:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    cells = [
        _name(svc),
        spec.get("type") or "ClusterIP",
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(svc),
        format_ports(spec.get("ports")),
        _age(svc, now),
        format_labels(spec.get("selector")),
    ]
    return cells, None


ENDPOINTS_COLUMNS = _columns(
    """
    Name
    Endpoints: The set of all endpoints is the union of all subsets.
    Age
"""
)


def format_endpoints(endpoints: Obj) -> str:
    """`10.244.0.5:80,10.244.0.6:80 + 3 more...` (the first three address:port pairs), or `<none>`."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or []
        for port in ports or [None]:
            count += len(addresses)
            for address in addresses:
                if len(shown) == 3:
                    break
                ip = address.get("ip", "")
                if port is None:
                    shown.append(ip)
                else:
                    host = f"[{ip}]" if _is_ipv6(ip) else ip
                    shown.append(f"{host}:{port.get('port')}")
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def _is_ipv6(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def _endpoints_row(obj: Obj, now: datetime) -> Row:
    return [_name(obj), format_endpoints(obj), _age(obj, now)], None


# --- nodes, namespaces ----------------------------------------------------------------------------------------

NODE_COLUMNS = _columns(
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


def _node_row(node: Obj, now: datetime) -> Row:
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
        _name(node),
        ",".join(states),
        node_roles(node),
        _age(node, now),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]
    return cells, None


NAMESPACE_COLUMNS = _columns(
    """
    Name
    Status: The status of the namespace
    Age
"""
)


def _namespace_row(obj: Obj, now: datetime) -> Row:
    return [_name(obj), (obj.get("status") or {}).get("phase", ""), _age(obj, now)], None


# --- events ---------------------------------------------------------------------------------------------------

EVENT_COLUMNS = _columns(
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


def _event_row(event: Obj, now: datetime) -> Row:
    first = event.get("firstTimestamp") or event.get("eventTime")
    first_seen = _since(first, now)
    last_seen = _since(event["lastTimestamp"], now) if event.get("lastTimestamp") else first_seen
    count = event.get("count") or 1
    series = event.get("series")
    if series:
        last_seen = _since(series.get("lastObservedTime"), now)
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
        _name(event),
    ]
    return cells, None


# --- the rest -------------------------------------------------------------------------------------------------

LEASE_COLUMNS = _columns(
    """
    Name
    Holder: holderIdentity contains the identity of the holder of a current lease.
    Age
"""
)
CONFIGMAP_COLUMNS = _columns(
    """
    Name
    Data: Data contains the configuration data.
    Age
"""
)
SECRET_COLUMNS = _columns(
    """
    Name
    Type: Used to facilitate programmatic handling of secret data.
    Data: Data contains the secret data.
    Age
"""
)
DEFAULT_COLUMNS = _columns(
    """
    Name
    Created At [date]: CreationTimestamp is a timestamp representing the server time when this object was created.
"""
)


def _lease_row(obj: Obj, now: datetime) -> Row:
    return [_name(obj), (obj.get("spec") or {}).get("holderIdentity") or "", _age(obj, now)], None


def _configmap_row(obj: Obj, now: datetime) -> Row:
    size = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), size, _age(obj, now)], None


def _secret_row(obj: Obj, now: datetime) -> Row:
    return [_name(obj), obj.get("type") or "Opaque", len(obj.get("data") or {}), _age(obj, now)], None


def _default_row(obj: Obj, now: datetime) -> Row:
    created = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return [_name(obj), created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else None], None


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _age(obj: Obj, now: datetime) -> str:
    return _since((obj.get("metadata") or {}).get("creationTimestamp"), now)


PRINTERS: dict[str, tuple[list[Obj], Callable[[Obj, datetime], Row]]] = {
    "pods": (POD_COLUMNS, _pod_row),
    "deployments": (DEPLOYMENT_COLUMNS, _deployment_row),
    "replicasets": (REPLICASET_COLUMNS, _replicaset_row),
    "daemonsets": (DAEMONSET_COLUMNS, _daemonset_row),
    "jobs": (JOB_COLUMNS, _job_row),
    "services": (SERVICE_COLUMNS, _service_row),
    "endpoints": (ENDPOINTS_COLUMNS, _endpoints_row),
    "nodes": (NODE_COLUMNS, _node_row),
    "namespaces": (NAMESPACE_COLUMNS, _namespace_row),
    "events": (EVENT_COLUMNS, _event_row),
    "leases": (LEASE_COLUMNS, _lease_row),
    "configmaps": (CONFIGMAP_COLUMNS, _configmap_row),
    "secrets": (SECRET_COLUMNS, _secret_row),
}


def column_definitions(resource: str) -> list[Obj]:
    return [dict(c) for c in PRINTERS.get(resource, (DEFAULT_COLUMNS, _default_row))[0]]


def partial_metadata(obj: Obj) -> Obj:
    """The PartialObjectMetadata kubectl reads for -A, --show-labels and -L."""
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def to_table(
    resource: str,
    objs: list[Obj],
    *,
    include_object: str = "Metadata",
    list_meta: Obj | None = None,
    now: datetime | None = None,
) -> Obj:
    """A meta.k8s.io/v1 Table of `objs` of `resource` (plural, e.g. "pods").

    `include_object` is the `includeObject` query parameter: `Metadata` (default: a PartialObjectMetadata per
    row), `Object` (the whole object) or `None`. `list_meta` becomes the Table's metadata (resourceVersion,
    continue). `now` is for tests; ages are relative to it.
    """
    now = now or datetime.now(UTC)
    columns, render = PRINTERS.get(resource, (DEFAULT_COLUMNS, _default_row))
    rows = []
    for obj in objs:
        cells, conditions = render(obj, now)
        row: Obj = {"cells": cells}
        if conditions:
            row["conditions"] = conditions
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": [dict(c) for c in columns],
        "rows": rows,
    }
