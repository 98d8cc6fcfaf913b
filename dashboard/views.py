"""Pure decisions behind the pages: what a pod's status reads, how bad it is, which pods a workload owns.

No I/O here: every function takes API objects (plain dicts, as on the wire) and returns plain data the templates
print. API objects are not trusted: any field may be missing or of the wrong type, so readers go through `_d`
and `_l` and never raise on a malformed object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apimachinery.timefmt import parse_time_or_none
from apimachinery.validation.quantity import parse_quantity

Obj = dict[str, Any]

# Statuses a person should look at now, and those that are on their way somewhere.
BAD = frozenset(
    {"CrashLoopBackOff", "Error", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerError",
     "CreateContainerConfigError", "RunContainerError", "OOMKilled", "Failed", "Unknown", "Evicted", "NodeLost",
     "ContainerStatusUnknown"}
)  # fmt: skip
OK = frozenset({"Running", "Succeeded", "Completed"})


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def meta(obj: Obj) -> Obj:
    return _d(obj.get("metadata"))


def name_of(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(meta(obj).get("namespace") or "")


def severity(status: str) -> str:
    """ "bad", "ok" or "warn" for a status word (the CSS class and the words read aloud beside it)."""
    if status in BAD or status.startswith("Init:Error") or status.startswith("Init:CrashLoop"):
        return "bad"
    if status in OK:
        return "ok"
    return "warn"


def pod_status(pod: Obj) -> str:
    """The one word kubectl prints in STATUS: the pod's reason, else a container's waiting or terminated
    reason (CrashLoopBackOff, Error...), else its phase; Terminating while it is being deleted."""
    status = _d(pod.get("status"))
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    for i, cs in enumerate(_l(status.get("initContainerStatuses"))):
        state = _d(_d(cs).get("state"))
        term, wait = _d(state.get("terminated")), _d(state.get("waiting"))
        if term and term.get("exitCode") == 0:
            continue
        if term:
            reason = f"Init:{term.get('reason') or 'Error'}"
        elif wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = f"Init:{wait['reason']}"
        else:
            reason = f"Init:{i}/{len(_l(pod.get('spec', {}).get('initContainers')))}"
        break
    else:
        running = False
        for cs in reversed(_l(status.get("containerStatuses"))):
            state = _d(_d(cs).get("state"))
            wait, term = _d(state.get("waiting")), _d(state.get("terminated"))
            if wait.get("reason"):
                reason = str(wait["reason"])
            elif term.get("reason"):
                reason = str(term["reason"])
            elif term:
                reason = f"ExitCode:{term.get('exitCode')}"
            elif "running" in state and _d(cs).get("ready"):
                running = True
        if running and reason == "Completed":
            reason = "Running"
    if meta(pod).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def restarts(pod: Obj) -> int:
    return sum(_int(_d(cs).get("restartCount")) for cs in _l(_d(pod.get("status")).get("containerStatuses")))


def ready_count(pod: Obj) -> str:
    statuses = _l(_d(pod.get("status")).get("containerStatuses"))
    total = len(_l(_d(pod.get("spec")).get("containers")))
    return f"{sum(1 for cs in statuses if _d(cs).get('ready'))}/{total}"


def age(timestamp: Any, now: datetime | None = None) -> str:
    """ "5s", "3m", "2h", "4d" since an RFC 3339 timestamp; "" when there is none."""
    then = parse_time_or_none(timestamp, naive_utc=True)
    if then is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass
class PodRow:
    namespace: str
    name: str
    status: str
    severity: str
    ready: str
    restarts: int
    node: str
    age: str


def pod_row(pod: Obj) -> PodRow:
    status = pod_status(pod)
    return PodRow(
        namespace=namespace_of(pod),
        name=name_of(pod),
        status=status,
        severity=severity(status),
        ready=ready_count(pod),
        restarts=restarts(pod),
        node=str(_d(pod.get("spec")).get("nodeName") or ""),
        age=age(meta(pod).get("creationTimestamp")),
    )


# -- workloads ------------------------------------------------------------------------------------------------

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


@dataclass
class Workload:
    kind: str
    resource: str  # plural, for links and actions
    api_version: str
    namespace: str
    name: str
    ready: str
    health: str  # ok / warn / bad, as `severity`
    replicas: int | None  # what scale would change; None when the kind has no replicas
    pods: list[PodRow] = field(default_factory=list)


def controller_uid(obj: Obj) -> str | None:
    for ref in _l(meta(obj).get("ownerReferences")):
        if _d(ref).get("controller"):
            return str(_d(ref).get("uid"))
    return None


def _ready_of(kind: str, obj: Obj) -> tuple[str, bool, int | None]:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    if kind == "DaemonSet":
        want, have = _int(status.get("desiredNumberScheduled")), _int(status.get("numberReady"))
        return f"{have}/{want}", have == want, None
    if kind == "Job":
        done = _int(status.get("succeeded"))
        want = _int(spec.get("completions"), 1)
        failed = any(
            _d(c).get("type") == "Failed" and _d(c).get("status") == "True"
            for c in _l(status.get("conditions"))
        )
        return f"{done}/{want}", not failed, None
    want = _int(spec.get("replicas"), 1)
    have = _int(status.get("readyReplicas"))
    return f"{have}/{want}", have == want, want


def workloads(kinds: dict[str, tuple[str, str, list[Obj]]], pods: list[Obj]) -> list[Workload]:
    """Each workload with the pods it owns: a Deployment's pods are those of its ReplicaSets; a ReplicaSet
    that a Deployment controls is shown under it, not again on its own. `kinds`: kind -> (resource,
    apiVersion, objects)."""
    pods_by_owner: dict[str, list[Obj]] = {}
    for pod in pods:
        uid = controller_uid(pod)
        if uid:
            pods_by_owner.setdefault(uid, []).append(pod)
    owned_rs: dict[str, list[str]] = {}  # deployment uid -> its ReplicaSets' uids
    for rs in kinds.get("ReplicaSet", ("", "", []))[2]:
        uid = controller_uid(rs)
        if uid:
            owned_rs.setdefault(uid, []).append(str(meta(rs).get("uid")))
    deployment_uids = {str(meta(d).get("uid")) for d in kinds.get("Deployment", ("", "", []))[2]}
    out: list[Workload] = []
    for kind in WORKLOAD_KINDS:
        if kind not in kinds:
            continue
        resource, api_version, objs = kinds[kind]
        for obj in objs:
            uid = str(meta(obj).get("uid"))
            if kind == "ReplicaSet" and controller_uid(obj) in deployment_uids:
                continue
            owners = [uid, *owned_rs.get(uid, [])] if kind == "Deployment" else [uid]
            mine = [p for o in owners for p in pods_by_owner.get(o, [])]
            ready, healthy, replicas = _ready_of(kind, obj)
            rows = sorted((pod_row(p) for p in mine), key=lambda r: r.name)
            # Red only when something failed; a rollout on its way (pods pending, not all ready) is amber.
            failing = (not healthy and kind == "Job") or any(r.severity == "bad" for r in rows)
            health = "bad" if failing else "ok" if healthy else "warn"
            out.append(
                Workload(
                    kind,
                    resource,
                    api_version,
                    namespace_of(obj),
                    name_of(obj),
                    ready,
                    health,
                    replicas,
                    rows,
                )
            )
    out.sort(key=lambda w: (w.namespace, w.kind, w.name))
    return out


def standalone_pods(pods: list[Obj]) -> list[PodRow]:
    return sorted((pod_row(p) for p in pods if not controller_uid(p)), key=lambda r: (r.namespace, r.name))


# -- nodes ----------------------------------------------------------------------------------------------------


@dataclass
class NodeRow:
    name: str
    ready: str  # "True", "False", "Unknown"
    problems: list[str]  # conditions other than Ready that are True (pressure), and a NotReady reason
    cpu: str
    memory: str
    cpu_used: str = ""
    memory_used: str = ""
    cpu_percent: int | None = None
    memory_percent: int | None = None


def _cpu(value: Any) -> str:
    try:
        cores = parse_quantity(value)
    except ValueError:
        return "?"
    return f"{cores:g}" if cores >= 1 else f"{round(cores * 1000)}m"


def _memory(value: Any) -> str:
    try:
        size = parse_quantity(value)
    except ValueError:
        return "?"
    for unit, scale in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size:g}"


def _percent(used: Any, total: Any) -> int | None:
    try:
        whole = parse_quantity(total)
        return round(100 * parse_quantity(used) / whole) if whole else None
    except ValueError:
        return None


def node_row(node: Obj, usage: Obj | None = None) -> NodeRow:
    """`usage`: the node's NodeMetrics `usage` from metrics.k8s.io, when the cluster serves that API."""
    status = _d(node.get("status"))
    ready, problems = "Unknown", []
    for cond in map(_d, _l(status.get("conditions"))):
        if cond.get("type") == "Ready":
            ready = str(cond.get("status"))
            if ready != "True":
                problems.append(f"NotReady: {cond.get('reason') or ''} {cond.get('message') or ''}".strip())
        elif cond.get("status") == "True":
            problems.append(str(cond.get("type")))
    alloc = _d(status.get("allocatable")) or _d(status.get("capacity"))
    row = NodeRow(
        name_of(node), ready, problems, _cpu(alloc.get("cpu", "0")), _memory(alloc.get("memory", "0"))
    )
    if usage:
        row.cpu_used, row.memory_used = _cpu(usage.get("cpu", "0")), _memory(usage.get("memory", "0"))
        row.cpu_percent = _percent(usage.get("cpu", "0"), alloc.get("cpu", "0"))
        row.memory_percent = _percent(usage.get("memory", "0"), alloc.get("memory", "0"))
    return row


# -- services and events ------------------------------------------------------------------------------------


@dataclass
class ServiceRow:
    namespace: str
    name: str
    type: str
    cluster_ip: str
    ports: str
    ready: list[str]  # "10.0.0.5:8080 (pod-name)"
    not_ready: list[str]


def _port_text(port: Obj) -> str:
    target = port.get("targetPort")
    text = f"{port.get('port')}/{port.get('protocol') or 'TCP'}"
    return f"{text} -> {target}" if target not in (None, port.get("port")) else text


def _addresses(subset: Obj, key: str) -> list[str]:
    ports = [str(_d(p).get("port")) for p in _l(subset.get("ports"))] or [""]
    out = []
    for addr in map(_d, _l(subset.get(key))):
        who = _d(addr.get("targetRef")).get("name")
        for port in ports:
            out.append(
                f"{addr.get('ip')}:{port}" + (f" ({who})" if who else "") if port else str(addr.get("ip"))
            )
    return out


def service_rows(services: list[Obj], endpoints: list[Obj]) -> list[ServiceRow]:
    by_key = {(namespace_of(e), name_of(e)): e for e in endpoints}
    rows = []
    for svc in services:
        spec = _d(svc.get("spec"))
        ep = by_key.get((namespace_of(svc), name_of(svc)), {})
        subsets = [_d(s) for s in _l(ep.get("subsets"))]
        rows.append(
            ServiceRow(
                namespace=namespace_of(svc),
                name=name_of(svc),
                type=str(spec.get("type") or "ClusterIP"),
                cluster_ip=str(spec.get("clusterIP") or ""),
                ports=", ".join(_port_text(_d(p)) for p in _l(spec.get("ports"))),
                ready=[a for s in subsets for a in _addresses(s, "addresses")],
                not_ready=[a for s in subsets for a in _addresses(s, "notReadyAddresses")],
            )
        )
    return sorted(rows, key=lambda r: (r.namespace, r.name))


@dataclass
class EventRow:
    namespace: str
    type: str
    reason: str
    object: str
    message: str
    count: int
    age: str
    when: str


def event_rows(events: list[Obj], *, warnings_only: bool = False, limit: int = 50) -> list[EventRow]:
    rows = []
    for ev in events:
        if warnings_only and ev.get("type") != "Warning":
            continue
        when = str(ev.get("lastTimestamp") or ev.get("eventTime") or meta(ev).get("creationTimestamp") or "")
        involved = _d(ev.get("involvedObject"))
        rows.append(
            EventRow(
                namespace=namespace_of(ev),
                type=str(ev.get("type") or "Normal"),
                reason=str(ev.get("reason") or ""),
                object=f"{str(involved.get('kind') or '').lower()}/{involved.get('name') or ''}",
                message=str(ev.get("message") or ""),
                count=_int(ev.get("count"), 1),
                age=age(when),
                when=when,
            )
        )
    rows.sort(key=lambda r: r.when, reverse=True)
    return rows[:limit]


def events_for(events: list[Obj], obj: Obj) -> list[Obj]:
    uid, name = meta(obj).get("uid"), name_of(obj)
    return [
        e
        for e in events
        if _d(e.get("involvedObject")).get("uid") == uid
        or (_d(e.get("involvedObject")).get("name") == name and namespace_of(e) == namespace_of(obj))
    ]


# -- one pod --------------------------------------------------------------------------------------------------


@dataclass
class ContainerRow:
    name: str
    image: str
    state: str  # running / waiting / terminated
    reason: str  # CrashLoopBackOff, Error, ...
    detail: str  # the state's message, exit code, since when
    severity: str
    ready: bool
    restarts: int
    last: str  # the last termination: "Error (exit 1) 12s ago"
    probes: list[str]
    init: bool = False


def _probe_text(kind: str, probe: Obj) -> str:
    if "httpGet" in probe:
        how = f"http-get :{_d(probe['httpGet']).get('port')}{_d(probe['httpGet']).get('path') or '/'}"
    elif "tcpSocket" in probe:
        how = f"tcp :{_d(probe['tcpSocket']).get('port')}"
    elif "exec" in probe:
        how = "exec " + " ".join(str(c) for c in _l(_d(probe["exec"]).get("command")))
    elif "grpc" in probe:
        how = f"grpc :{_d(probe['grpc']).get('port')}"
    else:
        how = "?"
    return f"{kind}: {how} every {probe.get('periodSeconds') or 10}s, fails after {probe.get('failureThreshold') or 3}"


def _state_of(cs: Obj) -> tuple[str, str, str]:
    state = _d(cs.get("state"))
    for name in ("waiting", "terminated", "running"):
        if name in state:
            body = _d(state[name])
            reason = str(body.get("reason") or ("Running" if name == "running" else ""))
            bits = []
            if name == "terminated":
                bits.append(f"exit {body.get('exitCode')}")
            if body.get("message"):
                bits.append(str(body["message"]))
            if body.get("startedAt"):
                bits.append(f"since {body['startedAt']}")
            return name, reason, "; ".join(bits)
    return "unknown", "", ""


def container_rows(pod: Obj) -> list[ContainerRow]:
    spec, status = _d(pod.get("spec")), _d(pod.get("status"))
    rows = []
    for init, specs, statuses in (
        (True, spec.get("initContainers"), status.get("initContainerStatuses")),
        (False, spec.get("containers"), status.get("containerStatuses")),
    ):
        by_name = {str(_d(cs).get("name")): _d(cs) for cs in _l(statuses)}
        for c in map(_d, _l(specs)):
            cs = by_name.get(str(c.get("name")), {})
            state, reason, detail = _state_of(cs)
            last_term = _d(_d(cs.get("lastState")).get("terminated"))
            last = ""
            if last_term:
                last = f"{last_term.get('reason') or 'Terminated'} (exit {last_term.get('exitCode')})"
                if last_term.get("finishedAt"):
                    last += f" {age(last_term['finishedAt'])} ago"
            probes = [
                _probe_text(kind, _d(c[key]))
                for kind, key in (
                    ("liveness", "livenessProbe"),
                    ("readiness", "readinessProbe"),
                    ("startup", "startupProbe"),
                )
                if key in c
            ]
            rows.append(
                ContainerRow(
                    name=str(c.get("name")),
                    image=str(c.get("image") or ""),
                    state=state,
                    reason=reason,
                    detail=detail,
                    severity=severity(reason) if reason else "warn",
                    ready=bool(cs.get("ready")),
                    restarts=_int(cs.get("restartCount")),
                    last=last,
                    probes=probes,
                    init=init,
                )
            )
    return rows
