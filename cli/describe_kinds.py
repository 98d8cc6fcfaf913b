"""describe text for deployments, replica sets, services, endpoints, nodes, namespaces, and any other kind."""

from __future__ import annotations

from typing import Any

from cli.describers import (
    Doc,
    annotation_lines,
    controlled_by,
    described,
    events,
    header,
    label_lines,
    label_map,
    multiline,
    sections,
    selector_text,
    template_into,
    when,
)
from cli.printing import to_yaml

Obj = dict[str, Any]


def _conditions(d: Doc, conds: list[Obj]) -> None:
    if not conds:
        return
    d.w(0, "Conditions:\n")
    d.table_head(1, "Type", "Status", "Reason")
    for c in conds:
        d.w(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")


def _rs_line(rs: Obj) -> str:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    return (
        f"{rs['metadata']['name']} ({status.get('replicas', 0)}/{spec.get('replicas', 0)} replicas created)"
    )


@described
def deployment_text(d: Doc, dep: Obj, new_rs: Obj | None, old_rs: list[Obj], evs: list[Obj]) -> None:
    meta, spec, status = sections(dep)
    header(d, meta, ("CreationTimestamp", when(meta.get("creationTimestamp"))))
    d.w(0, f"Selector:\t{selector_text(spec.get('selector'))}\n")
    want = spec.get("replicas", 1)
    d.w(
        0,
        f"Replicas:\t{want} desired | {status.get('updatedReplicas', 0)} updated | "
        f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
        f"{status.get('unavailableReplicas', 0)} unavailable\n",
    )
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type", "RollingUpdate")
    d.w(0, f"StrategyType:\t{stype}\n")
    d.w(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    if stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate") or {}
        d.w(
            0,
            f"RollingUpdateStrategy:\t{ru.get('maxUnavailable', '25%')} max unavailable, "
            f"{ru.get('maxSurge', '25%')} max surge\n",
        )
    if spec.get("paused"):
        d.w(0, "Paused:\ttrue\n")
    template_into(d, spec.get("template") or {})
    _conditions(d, status.get("conditions") or [])
    d.w(0, f"OldReplicaSets:\t{', '.join(_rs_line(r) for r in old_rs) or '<none>'}\n")
    d.w(0, f"NewReplicaSet:\t{_rs_line(new_rs) if new_rs else '<none>'}\n")
    events(d, evs)


@described
def replicaset_text(d: Doc, rs: Obj, pods: list[Obj], evs: list[Obj]) -> None:
    meta, spec, status = sections(rs)
    header(d, meta, ("Selector", selector_text(spec.get("selector"))))
    controlled_by(d, meta)
    d.w(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired\n")
    phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
    d.w(
        0,
        f"Pods Status:\t{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
        f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed\n",
    )
    template_into(d, spec.get("template") or {})
    _conditions(d, status.get("conditions") or [])
    events(d, evs)


def _port_name(p: Obj) -> str:
    return p.get("name") or "<unset>"


def format_endpoint_slices(slices: list[Obj], port_name: str) -> str:
    """kubectl's formatEndpointSlices for one service port: the first three ready `ip:port`, `+ N more...`
    after them, `<none>` without slices (endpoints whose ready condition is unknown count as ready)."""
    if not slices:
        return "<none>"
    shown: list[str] = []
    count = 0
    for s in slices:
        endpoints = [
            e for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready") is not False
        ]
        ports = s.get("ports") or []
        if not ports:  # a headless service without ports: addresses alone
            targets = [str((e.get("addresses") or [""])[0]) for e in endpoints]
        else:
            targets = [
                _host_port(str((e.get("addresses") or [""])[0]), p.get("port"))
                for p in ports
                if (p.get("name") or "") == port_name
                for e in endpoints
            ]
        for target in targets:
            if len(shown) < 3:
                shown.append(target)
            count += 1
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def _host_port(address: str, port: Any) -> str:
    host = f"[{address}]" if ":" in address else address  # net.JoinHostPort
    return f"{host}:{port}"


@described
def service_text(d: Doc, svc: Obj, slices: list[Obj], evs: list[Obj]) -> None:
    meta, spec, status = sections(svc)
    header(d, meta)
    d.fields(0, ("Selector", label_map(spec.get("selector"))))
    d.w(0, f"Type:\t{spec.get('type', 'ClusterIP')}\n")
    d.optional(
        0,
        ("IP Family Policy", spec.get("ipFamilyPolicy")),
        ("IP Families", ",".join(spec.get("ipFamilies") or [])),
    )
    d.fields(0, ("IP", spec.get("clusterIP", "")))
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    d.optional(0, ("IPs", ",".join(ips)), ("External IPs", ",".join(spec.get("externalIPs") or [])))
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        d.w(0, f"LoadBalancer Ingress:\t{', '.join(i.get('ip') or i.get('hostname', '') for i in ingress)}\n")
    for p in spec.get("ports") or []:
        proto = p.get("protocol", "TCP")
        d.w(0, f"Port:\t{_port_name(p)}\t{p.get('port')}/{proto}\n")
        tp = p.get("targetPort", p.get("port"))
        d.w(0, f"TargetPort:\t{tp}/{proto}\n")
        if p.get("nodePort"):
            d.w(0, f"NodePort:\t{_port_name(p)}\t{p['nodePort']}/{proto}\n")
        d.w(0, f"Endpoints:\t{format_endpoint_slices(slices, p.get('name') or '')}\n")
    d.w(0, f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}\n")
    d.optional(
        0,
        ("External Traffic Policy", spec.get("externalTrafficPolicy")),
        ("Internal Traffic Policy", spec.get("internalTrafficPolicy")),
    )
    events(d, evs)


@described
def endpoints_text(d: Doc, ep: Obj, evs: list[Obj]) -> None:
    meta = ep["metadata"]
    header(d, meta)
    d.w(0, "Subsets:\n")
    for s in ep.get("subsets") or []:
        ready = ",".join(a.get("ip", "") for a in s.get("addresses") or []) or "<none>"
        not_ready = ",".join(a.get("ip", "") for a in s.get("notReadyAddresses") or []) or "<none>"
        d.w(1, f"Addresses:\t{ready}\n")
        d.w(1, f"NotReadyAddresses:\t{not_ready}\n")
        ports = s.get("ports") or []
        if d.section(1, "Ports", ports):
            d.table_head(2, "Name", "Port", "Protocol")
            for p in ports:
                d.w(2, f"{_port_name(p)}\t{p.get('port')}\t{p.get('protocol', 'TCP')}\n")
        d.w(0, "\n")
    events(d, evs)


@described
def node_text(d: Doc, node: Obj, pods: list[Obj], evs: list[Obj]) -> None:
    meta, spec, status = sections(node)
    node_labels = meta.get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in node_labels if k.startswith("node-role.kubernetes.io/"))
    header(d, meta, ("Roles", ",".join(roles) or "<none>"), namespaced=False)
    d.w(0, f"CreationTimestamp:\t{when(meta.get('creationTimestamp'))}\n")
    taints = [
        f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
        for t in spec.get("taints") or []
    ]
    multiline(d, 0, "Taints", taints)
    d.w(0, f"Unschedulable:\t{str(bool(spec.get('unschedulable'))).lower()}\n")
    conds = status.get("conditions") or []
    d.w(0, "Conditions:\n")
    d.table_head(1, "Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message")
    for c in conds:
        d.w(
            1,
            f"{c.get('type')} \t{c.get('status')} \t{when(c.get('lastHeartbeatTime'))} \t"
            f"{when(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}\n",
        )
    d.w(0, "Addresses:\n")
    for a in status.get("addresses") or []:
        d.w(1, f"{a.get('type')}:\t{a.get('address')}\n")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        if status.get(key):
            d.w(0, f"{title}:\n")
            for k, v in sorted(status[key].items()):
                d.w(1, f"{k}:\t{v}\n")
    info = status.get("nodeInfo") or {}
    if info:
        d.w(0, "System Info:\n")
        for title, key in (
            ("Machine ID", "machineID"),
            ("System UUID", "systemUUID"),
            ("Boot ID", "bootID"),
            ("Kernel Version", "kernelVersion"),
            ("OS Image", "osImage"),
            ("Operating System", "operatingSystem"),
            ("Architecture", "architecture"),
            ("Container Runtime Version", "containerRuntimeVersion"),
            ("Kubelet Version", "kubeletVersion"),
            ("Kube-Proxy Version", "kubeProxyVersion"),
        ):
            d.w(1, f"{title}:\t{info.get(key, '')}\n")
    if spec.get("podCIDR"):
        d.w(0, f"PodCIDR:\t{spec['podCIDR']}\n")
        d.w(0, f"PodCIDRs:\t{','.join(spec.get('podCIDRs') or [spec['podCIDR']])}\n")
    active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    d.w(0, f"Non-terminated Pods:\t({len(active)} in total)\n")
    if active:
        d.table_head(1, "Namespace", "Name", "Age")
        from cli.describers import age

        for p in active:
            pm = p["metadata"]
            d.w(1, f"{pm.get('namespace')}\t{pm['name']}\t{age(pm.get('creationTimestamp'))}\n")
    events(d, evs)


@described
def namespace_text(d: Doc, ns: Obj) -> None:
    meta, status = ns["metadata"], ns.get("status") or {}
    d.w(0, f"Name:\t{meta['name']}\n")
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    d.w(0, f"Status:\t{status.get('phase', 'Active')}\n")
    d.w(0, "\nNo resource quota.\n\nNo LimitRange resource.\n")


@described
def generic_text(d: Doc, obj: Obj, evs: list[Obj]) -> None:
    """Any other kind: the metadata lines, then the rest of the object as indented YAML."""
    meta = obj.get("metadata") or {}
    d.w(0, f"Name:\t{meta.get('name', '')}\n")
    d.optional(0, ("Namespace", meta.get("namespace")))
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    d.w(0, f"API Version:\t{obj.get('apiVersion', '')}\n")
    d.w(0, f"Kind:\t{obj.get('kind', '')}\n")
    rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    if rest:
        for line in to_yaml(rest).splitlines():
            d.w(0, line + "\n")
    events(d, evs)
