"""Text of `kctl describe` for each kind, in kubectl's layout (pure functions of the objects).

Lines are built with tabs at nesting levels (two spaces per level) and aligned with Go tabwriter rules
(minwidth 0, padding 2), which is what makes kubectl's `Name:    value` columns line up block by block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sized
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec

from apimachinery import timefmt
from apimachinery.timefmt import human_duration
from cli.tabwriter import DESCRIBE_MINWIDTH, DESCRIBE_PADDING, align

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
Obj = dict[str, Any]


class Doc:
    """Lines at indentation levels, aligned at the end."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def w(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def fields(self, level: int, *rows: tuple[str, object]) -> None:
        """One `Label:<tab>value` line per row, in order."""
        for label, value in rows:
            self.w(level, f"{label}:\t{value}\n")

    def optional(self, level: int, *rows: tuple[str, object]) -> None:
        """`fields`, leaving out the rows whose value is unset or empty (kubectl prints those only when set)."""
        self.fields(level, *((label, value) for label, value in rows if value))

    def section(self, level: int, title: str, items: Sized) -> bool:
        """A section's title line: `Title:<tab><none>` when there are no `items` (False: nothing follows), else
        `Title:` (True: the caller writes the items under it)."""
        self.w(level, f"{title}:\n" if items else f"{title}:\t<none>\n")
        return bool(items)

    def table_head(self, level: int, *titles: str) -> None:
        """A table's title line and the dashes under it, as kubectl describe prints them."""
        self.w(level, "\t".join(titles) + "\n")
        self.w(level, "\t".join("-" * len(t) for t in titles) + "\n")

    def text(self) -> str:
        return align("".join(self.parts), DESCRIBE_MINWIDTH, DESCRIBE_PADDING)


P = ParamSpec("P")


def described(write: Callable[Concatenate[Doc, P], None]) -> Callable[P, str]:
    """A describer from a function that writes an object's lines into a Doc: the aligned text (kubectl's
    tabbedString)."""

    @functools.wraps(write)
    def text(*args: P.args, **kwargs: P.kwargs) -> str:
        d = Doc()
        write(d, *args, **kwargs)
        return d.text()

    return text


def sections(obj: Obj) -> tuple[Obj, Obj, Obj]:
    """An object's metadata, spec and status (the last two empty when unset)."""
    return obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}


# -- formatting helpers ---------------------------------------------------------------------------------------


def parse_time(ts: str) -> datetime:
    """An RFC 3339 timestamp (a zone-less one read as UTC)."""
    return timefmt.parse_time(ts, naive_utc=True)


def header(d: Doc, meta: Obj, *fields: tuple[str, object], namespaced: bool = True) -> None:
    """kubectl's opening lines of most kinds: Name, Namespace, the kind's own `fields`, Labels, Annotations."""
    d.w(0, f"Name:\t{meta['name']}\n")
    if namespaced:
        d.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    d.fields(0, *fields)
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)


def when(ts: str | None) -> str:
    """RFC1123Z, as kubectl prints timestamps in describe."""
    if not ts:
        return "<unset>"
    try:
        return parse_time(ts).strftime("%a, %d %b %Y %H:%M:%S %z")
    except ValueError:
        return ts


def when_set(ts: str | None) -> str:
    """`when`, or nothing for an unset time (a line that `Doc.optional` then leaves out)."""
    return when(ts) if ts else ""


def age(ts: str | None, now: datetime | None = None) -> str:
    if not ts:
        return "<unknown>"
    try:
        then = parse_time(ts)
    except ValueError:
        return "<unknown>"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return human_duration(((now or datetime.now(UTC)) - then).total_seconds())


def multiline(doc: Doc, level: int, title: str, items: list[str]) -> None:
    if not items:
        doc.w(level, f"{title}:\t<none>\n")
        return
    doc.w(level, f"{title}:\t{items[0]}\n")
    for item in items[1:]:
        doc.w(level, f"\t{item}\n")


def label_lines(doc: Doc, level: int, meta: Obj, title: str = "Labels") -> None:
    multiline(doc, level, title, [f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items())])


def annotation_lines(doc: Doc, level: int, meta: Obj) -> None:
    items = [f"{k}: {v}" for k, v in sorted((meta.get("annotations") or {}).items()) if k != LAST_APPLIED]
    multiline(doc, level, "Annotations", items)


def label_map(labels: dict[str, str] | None) -> str:
    """A plain label map as a selector (`a=b,c=d`), as kubectl prints map selectors and node selectors."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


def selector_text(sel: Obj | None) -> str:
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op, vals = e.get("operator"), ",".join(e.get("values") or [])
        parts.append(
            {
                "In": f"{e['key']} in ({vals})",
                "NotIn": f"{e['key']} notin ({vals})",
                "Exists": e["key"],
                "DoesNotExist": f"!{e['key']}",
            }.get(op, e["key"])
        )
    return ",".join(parts) or "<none>"


def controlled_by(doc: Doc, meta: Obj) -> None:
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            doc.w(0, f"Controlled By:\t{ref.get('kind')}/{ref.get('name')}\n")


def events(doc: Doc, items: list[Obj], now: datetime | None = None) -> None:
    """The Events table that ends most describe outputs."""
    if not doc.section(0, "Events", items):
        return
    doc.w(1, "Type\tReason\tAge\tFrom\tMessage\n")
    doc.w(1, "----\t------\t----\t----\t-------\n")
    for e in sorted(items, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or ""):
        last = (
            e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp")
        )
        first = e.get("firstTimestamp") or last
        count = int(e.get("count") or 1)
        interval = age(last, now)
        if count > 1:
            interval = f"{age(last, now)} (x{count} over {age(first, now)})"
        src = e.get("source") or {}
        source = src.get("component") or e.get("reportingComponent") or ""
        if src.get("host"):
            source += f", {src['host']}"
        message = str(e.get("message") or "").strip()
        doc.w(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t{message}\n")


# -- pods and templates ---------------------------------------------------------------------------------------


def _ports(c: Obj) -> tuple[str, str]:
    ports = c.get("ports") or []
    if not ports:
        return "<none>", "<none>"
    port = ", ".join(f"{p['containerPort']}/{p.get('protocol', 'TCP')}" for p in ports)
    host = ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports)
    return port, host


def _state(doc: Doc, title: str, state: Obj) -> None:
    if "running" in state:
        doc.w(2, f"{title}:\tRunning\n")
        doc.w(3, f"Started:\t{when(state['running'].get('startedAt'))}\n")
    elif "terminated" in state:
        t = state["terminated"]
        doc.w(2, f"{title}:\tTerminated\n")
        doc.optional(3, ("Reason", t.get("reason")), ("Message", t.get("message")))
        doc.fields(3, ("Exit Code", t.get("exitCode", 0)))
        doc.optional(3, ("Signal", t.get("signal")))
        doc.fields(3, ("Started", when(t.get("startedAt"))), ("Finished", when(t.get("finishedAt"))))
    elif "waiting" in state:
        doc.w(2, f"{title}:\tWaiting\n")
        if state["waiting"].get("reason"):
            doc.w(3, f"Reason:\t{state['waiting']['reason']}\n")
    else:
        doc.w(2, f"{title}:\tWaiting\n")


def _resources(doc: Doc, c: Obj) -> None:
    res = c.get("resources") or {}
    for title, key in (("Limits", "limits"), ("Requests", "requests")):
        if res.get(key):
            doc.w(2, f"{title}:\n")
            for k, v in sorted(res[key].items()):
                doc.w(3, f"{k}:\t{v}\n")


def _env(doc: Doc, c: Obj) -> None:
    env = c.get("env") or []
    if not doc.section(2, "Environment", env):
        return
    for e in env:
        if "value" in e or "valueFrom" not in e:
            doc.w(3, f"{e['name']}:\t{e.get('value', '')}\n")
        else:
            src = e["valueFrom"]
            if "fieldRef" in src:
                ref = src["fieldRef"]
                doc.w(3, f"{e['name']}:\t ({ref.get('apiVersion', 'v1')}:{ref.get('fieldPath')})\n")
            else:
                doc.w(3, f"{e['name']}:\t<set from {next(iter(src))}>\n")


def _mounts(doc: Doc, c: Obj) -> None:
    mounts = c.get("volumeMounts") or []
    if not doc.section(2, "Mounts", mounts):
        return
    for m in sorted(mounts, key=lambda m: m.get("mountPath", "")):
        doc.w(3, f"{m['mountPath']} from {m['name']} ({'ro' if m.get('readOnly') else 'rw'})\n")


def containers(doc: Doc, items: list[Obj], statuses: list[Obj] | None, space: str = "") -> None:
    by_name = {s["name"]: s for s in statuses or []}
    for c in items:
        doc.w(1, f"{space}{c['name']}:\n")
        status = by_name.get(c["name"])
        if status is not None and status.get("containerID"):
            doc.w(2, f"Container ID:\t{status['containerID']}\n")
        doc.w(2, f"Image:\t{c.get('image', '')}\n")
        if status is not None:
            doc.w(2, f"Image ID:\t{status.get('imageID', '')}\n")
        port, host = _ports(c)
        doc.w(2, f"Port{'s' if len(c.get('ports') or []) > 1 else ''}:\t{port}\n")
        doc.w(2, f"Host Port{'s' if len(c.get('ports') or []) > 1 else ''}:\t{host}\n")
        for title, key in (("Command", "command"), ("Args", "args")):
            if c.get(key):
                doc.w(2, f"{title}:\n")
                for word in c[key]:
                    for line in str(word).split("\n"):
                        doc.w(3, f"{line}\n")
        if statuses is not None:
            _state(doc, "State", (status or {}).get("state") or {})
            if (status or {}).get("lastState"):
                _state(doc, "Last State", status["lastState"])  # type: ignore[index]
            doc.w(2, f"Ready:\t{'True' if (status or {}).get('ready') else 'False'}\n")
            doc.w(2, f"Restart Count:\t{(status or {}).get('restartCount', 0)}\n")
        _resources(doc, c)
        for title, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe")):
            if c.get(key):
                doc.w(2, f"{title}:\t{_probe(c[key])}\n")
        _env(doc, c)
        _mounts(doc, c)


def _probe(p: Obj) -> str:
    if "httpGet" in p:
        h = p["httpGet"]
        what = f"http-get {h.get('scheme', 'HTTP').lower()}://{h.get('host', '')}:{h.get('port')}{h.get('path', '')}"
    elif "tcpSocket" in p:
        what = f"tcp-socket :{p['tcpSocket'].get('port')}"
    elif "exec" in p:
        what = "exec [" + " ".join(p["exec"].get("command") or []) + "]"
    else:
        what = "unknown"
    return (
        f"{what} delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
        f"period={p.get('periodSeconds', 10)}s #success={p.get('successThreshold', 1)} "
        f"#failure={p.get('failureThreshold', 3)}"
    )


def volumes(doc: Doc, level: int, vols: list[Obj]) -> None:
    if not doc.section(level, "Volumes", vols):
        return
    for v in vols:
        doc.w(level + 1, f"{v['name']}:\n")
        if "emptyDir" in v:
            e = v["emptyDir"] or {}
            doc.w(level + 2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n")
            doc.w(level + 2, f"Medium:\t{e.get('medium', '')}\n")
            doc.w(level + 2, f"SizeLimit:\t{e.get('sizeLimit', '<unset>')}\n")
        elif "hostPath" in v:
            h = v["hostPath"]
            doc.w(level + 2, "Type:\tHostPath (bare host directory volume)\n")
            doc.w(level + 2, f"Path:\t{h.get('path', '')}\n")
            doc.w(level + 2, f"HostPathType:\t{h.get('type', '')}\n")
        elif "configMap" in v or "secret" in v:
            kind = "ConfigMap" if "configMap" in v else "Secret"
            src = v.get("configMap") or v.get("secret") or {}
            doc.w(level + 2, f"Type:\t{kind} (a volume populated by a {kind})\n")
            doc.w(
                level + 2,
                f"{'Name' if kind == 'ConfigMap' else 'SecretName'}:\t"
                f"{src.get('name') or src.get('secretName', '')}\n",
            )
            doc.w(level + 2, f"Optional:\t{str(bool(src.get('optional'))).lower()}\n")
        else:
            doc.w(level + 2, "Type:\t<unknown>\n")


def tolerations(doc: Doc, level: int, items: list[Obj]) -> None:
    out = []
    for t in items:
        s = t.get("key", "")
        if t.get("value"):
            s += f"={t['value']}"
        if t.get("effect"):
            s += f":{t['effect']}"
        if t.get("operator") == "Exists":
            s += " op=Exists"
        if t.get("tolerationSeconds") is not None:
            s += f" for {t['tolerationSeconds']}s"
        out.append(s)
    multiline(doc, level, "Tolerations", out)


def node_selectors(doc: Doc, level: int, spec: Obj) -> None:
    multiline(
        doc,
        level,
        "Node-Selectors",
        [f"{k}={v}" for k, v in sorted((spec.get("nodeSelector") or {}).items())],
    )


def qos_class(pod: Obj) -> str:
    status_qos = (pod.get("status") or {}).get("qosClass")
    if status_qos:
        return str(status_qos)
    cs = (pod.get("spec") or {}).get("containers") or []
    reqs = [((c.get("resources") or {}).get("requests") or {}) for c in cs]
    lims = [((c.get("resources") or {}).get("limits") or {}) for c in cs]
    if not any(reqs) and not any(lims):
        return "BestEffort"
    if all(
        lm.get("cpu") and lm.get("memory") and (not rq or rq == lm) for rq, lm in zip(reqs, lims, strict=True)
    ):
        return "Guaranteed"
    return "Burstable"


@described
def pod_text(d: Doc, pod: Obj, evs: list[Obj]) -> None:
    meta, spec, status = sections(pod)
    d.w(0, f"Name:\t{meta['name']}\n")
    d.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    d.w(0, f"Priority:\t{spec.get('priority', 0)}\n")
    d.optional(0, ("Priority Class Name", spec.get("priorityClassName")))
    d.w(0, f"Service Account:\t{spec.get('serviceAccountName', 'default')}\n")
    node = spec.get("nodeName")
    d.w(0, f"Node:\t{node + '/' + status.get('hostIP', '') if node else '<none>'}\n")
    d.optional(0, ("Start Time", when_set(status.get("startTime"))))
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    if meta.get("deletionTimestamp"):
        d.w(0, f"Status:\tTerminating (lasts {age(meta['deletionTimestamp'])})\n")
        d.w(0, f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 30)}s\n")
    else:
        d.w(0, f"Status:\t{status.get('phase', 'Pending')}\n")
    d.optional(0, ("Reason", status.get("reason")), ("Message", status.get("message")))
    d.w(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = [i.get("ip", "") for i in status.get("podIPs") or []]
    if d.section(0, "IPs", ips):
        d.fields(1, *(("IP", ip) for ip in ips))
    controlled_by(d, meta)
    if spec.get("initContainers"):
        d.w(0, "Init Containers:\n")
        containers(d, spec["initContainers"], status.get("initContainerStatuses") or [])
    d.w(0, "Containers:\n")
    containers(d, spec.get("containers") or [], status.get("containerStatuses") or [])
    conds = status.get("conditions") or []
    if conds:
        d.w(0, "Conditions:\n")
        d.w(1, "Type\tStatus\n")
        for c in conds:
            d.w(1, f"{c.get('type')} \t{c.get('status')} \n")
    volumes(d, 0, spec.get("volumes") or [])
    d.w(0, f"QoS Class:\t{qos_class(pod)}\n")
    node_selectors(d, 0, spec)
    tolerations(d, 0, spec.get("tolerations") or [])
    events(d, evs)


def template_into(d: Doc, tmpl: Obj) -> None:
    """The `Pod Template:` section (deployments, replica sets, rollout history --revision)."""
    meta, spec = tmpl.get("metadata") or {}, tmpl.get("spec") or {}
    d.w(0, "Pod Template:\n")
    label_lines(d, 1, meta)
    if meta.get("annotations"):
        annotation_lines(d, 1, meta)
    d.optional(1, ("Service Account", spec.get("serviceAccountName")))
    if spec.get("initContainers"):
        d.w(1, "Init Containers:\n")
        containers(d, spec["initContainers"], None, " ")
    d.w(1, "Containers:\n")
    containers(d, spec.get("containers") or [], None, " ")
    volumes(d, 1, spec.get("volumes") or [])
    node_selectors(d, 1, spec)
    tolerations(d, 1, spec.get("tolerations") or [])


@described
def pod_template_text(d: Doc, tmpl: Obj) -> None:
    template_into(d, tmpl)
