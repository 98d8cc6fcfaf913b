"""The EndpointSlices of a Service, computed from its pods: pure functions, as the endpointslice controller's
(k8s.io/endpointslice reconciler and utils) decide them.

* One endpoint per pod that has an IP of the slice's family and has not finished (terminating pods included):
  `ready` (ready and not terminating, or publishNotReadyAddresses), `serving` (ready), `terminating`; the pod as
  targetRef, its node, its zone (the node's topology.kubernetes.io/zone), its hostname when the pod sets the
  Service as its subdomain.
* Endpoints are grouped by the ports their pod serves (a named targetPort resolves per pod), a group's slices
  hold at most `max_per_slice` endpoints each; a Service with no endpoints keeps one empty placeholder slice.
* A plan changes as little as it can: endpoints stay in the slice that has them, new ones fill slices with room
  before new slices are made, a slice left empty goes.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from controller_manager.endpoints_util import resolve_target_port
from controller_manager.podutil import Obj, controller_reference, is_pod_ready, pod_reference

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100
_FAMILY = {"IPv4": 4, "IPv6": 6}


def address_types(service: Obj) -> list[str]:
    """The slices' address types: the Service's IP families (IPv4 when it names none)."""
    families = [f for f in (service.get("spec") or {}).get("ipFamilies") or [] if f in _FAMILY]
    return families or ["IPv4"]


def _address(pod: Obj, address_type: str) -> str | None:
    status = pod.get("status") or {}
    candidates = [p.get("ip") for p in status.get("podIPs") or []] or [status.get("podIP")]
    for ip in candidates:
        try:
            if ip and ipaddress.ip_address(ip).version == _FAMILY[address_type]:
                return str(ip)
        except ValueError:
            continue
    return None


def include_pod(pod: Obj) -> bool:
    """ShouldPodBeInEndpoints with terminating pods included: it has an IP and has not finished."""
    status = pod.get("status") or {}
    return bool(status.get("podIP")) and status.get("phase") not in ("Succeeded", "Failed")


def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    """The slice ports this pod serves, in the Service's port order (ports the pod lacks are left out)."""
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        number = resolve_target_port(sp, pod)
        if number is None:
            continue
        port: Obj = {"name": sp.get("name") or "", "port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def pod_endpoint(service: Obj, pod: Obj, address: str, node: Obj | None) -> Obj:
    """podToEndpoint: the endpoint of one pod, fields in the order Go writes discovery.Endpoint."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    serving = publish or is_pod_ready(pod)
    terminating = bool(meta.get("deletionTimestamp"))
    ep: Obj = {
        "addresses": [address],
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
    }
    if spec.get("hostname") and spec.get("subdomain") == service["metadata"]["name"]:
        ep["hostname"] = spec["hostname"]
    ep["targetRef"] = pod_reference(pod)
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
    zone = ((node or {}).get("metadata") or {}).get("labels", {}).get(ZONE_LABEL)
    if zone:
        ep["zone"] = zone
    return ep


def ports_key(ports: list[Obj]) -> str:
    """A port set as a canonical string (the grouping key of endpoints and slices)."""
    return json.dumps(
        sorted(ports, key=lambda p: (p.get("name") or "", p.get("protocol") or "")), sort_keys=True
    )


def desired_endpoints(
    service: Obj, pods: list[Obj], nodes: dict[str, Obj]
) -> dict[tuple[str, str], list[Obj]]:
    """(address type, port-set key) -> the endpoints that group must hold, sorted by address."""
    groups: dict[tuple[str, str], list[Obj]] = {}
    for address_type in address_types(service):
        for pod in pods:
            if not include_pod(pod):
                continue
            address = _address(pod, address_type)
            if address is None:
                continue
            node = nodes.get((pod.get("spec") or {}).get("nodeName") or "")
            ports = endpoint_ports(service, pod)
            groups.setdefault((address_type, ports_key(ports)), []).append(
                pod_endpoint(service, pod, address, node)
            )
    for eps in groups.values():
        eps.sort(key=_endpoint_sort_key)
    return groups


def _endpoint_sort_key(ep: Obj) -> tuple[Any, ...]:
    address = ep["addresses"][0]
    try:
        ip = ipaddress.ip_address(address)
        return (ip.version, int(ip), (ep.get("targetRef") or {}).get("name", ""))
    except ValueError:
        return (0, 0, address)


def endpoint_id(ep: Obj) -> tuple[str, str]:
    """Which endpoint this is, whatever its conditions: its address and pod."""
    return ((ep.get("addresses") or [""])[0], (ep.get("targetRef") or {}).get("uid") or "")


def slice_labels(service: Obj) -> dict[str, str]:
    """The Service's labels, then the controller's own (setEndpointSliceLabels)."""
    labels = {
        k: v
        for k, v in ((service.get("metadata") or {}).get("labels") or {}).items()
        if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)
    }
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


def new_slice(service: Obj, address_type: str, ports: list[Obj], endpoints: list[Obj]) -> Obj:
    meta = service["metadata"]
    prefix = meta["name"][:57] + "-"  # generateName leaves room for its 5 random characters in 63
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": prefix,
            "namespace": meta.get("namespace"),
            "labels": slice_labels(service),
            "ownerReferences": [controller_reference(service, "v1", "Service")],
        },
        "addressType": address_type,
        "endpoints": endpoints,
        "ports": ports,
    }


@dataclass
class Plan:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


def plan(
    service: Obj,
    desired: dict[tuple[str, str], list[Obj]],
    existing: list[Obj],
    max_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
) -> Plan:
    """What to create, update and delete so that `existing` (the Service's managed slices) hold `desired`."""
    out = Plan()
    if not desired:
        # No endpoints: one placeholder slice per address type, with no ports and no endpoints.
        desired = {(t, ports_key([])): [] for t in address_types(service)}
    by_group: dict[tuple[str, str], list[Obj]] = {}
    for s in sorted(existing, key=lambda s: s["metadata"]["name"]):
        by_group.setdefault((s.get("addressType", ""), ports_key(s.get("ports") or [])), []).append(s)
    for group, slices in by_group.items():
        if group not in desired:
            out.delete += slices
    for group, endpoints in desired.items():
        address_type, key = group
        ports = json.loads(key)
        _plan_group(service, address_type, ports, endpoints, by_group.get(group, []), max_per_slice, out)
    return out


def _plan_group(
    service: Obj,
    address_type: str,
    ports: list[Obj],
    endpoints: list[Obj],
    slices: list[Obj],
    max_per_slice: int,
    out: Plan,
) -> None:
    wanted = {endpoint_id(ep): ep for ep in endpoints}
    placed: set[tuple[str, str]] = set()
    kept: list[tuple[Obj, list[Obj]]] = []
    for s in slices:
        held: list[Obj] = []
        for ep in s.get("endpoints") or []:
            ident = endpoint_id(ep)
            if ident in wanted and ident not in placed and len(held) < max_per_slice:
                held.append(wanted[ident])
                placed.add(ident)
        kept.append((s, held))
    pending = [ep for ep in endpoints if endpoint_id(ep) not in placed]
    for i, (s, held) in enumerate(kept):
        room = max_per_slice - len(held)
        if pending and room > 0:
            held.extend(pending[:room])
            pending = pending[room:]
        kept[i] = (s, held)
    placeholder = not endpoints
    for i, (s, held) in enumerate(kept):
        if not held and not (placeholder and i == 0):
            out.delete.append(s)
            continue
        wanted_slice = _with_content(s, service, ports, held)
        if wanted_slice is not None:
            out.update.append(wanted_slice)
    if placeholder and not kept:
        out.create.append(new_slice(service, address_type, ports, []))
    for start in range(0, len(pending), max_per_slice):
        out.create.append(new_slice(service, address_type, ports, pending[start : start + max_per_slice]))


def _with_content(existing: Obj, service: Obj, ports: list[Obj], endpoints: list[Obj]) -> Obj | None:
    """The existing slice with this content, or None when it already has it."""
    labels = slice_labels(service)
    md = existing.get("metadata") or {}
    if (
        existing.get("endpoints") == endpoints
        and (existing.get("ports") or []) == ports
        and (md.get("labels") or {}) == labels
    ):
        return None
    updated = dict(existing)
    updated["metadata"] = {**md, "labels": labels}
    updated["endpoints"] = endpoints
    updated["ports"] = ports
    return updated
