"""The subsets of a Service's Endpoints, computed from its pods: a pure function.

Ready pods go to `addresses`, the others to `notReadyAddresses` (all of them go to `addresses` when the Service
sets publishNotReadyAddresses). A named targetPort is looked up in each pod's container ports, so pods may expose
the same name on different numbers; pods that lack the name are left out for that port. Pods are grouped into one
subset per distinct port set, as Kubernetes' RepackSubsets does; everything is sorted, so the result is stable.
"""

from __future__ import annotations

import json

from controller_manager.podutil import Obj, is_pod_ready, pod_reference


def resolve_target_port(service_port: Obj, pod: Obj) -> int | None:
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for container in (pod.get("spec") or {}).get("containers") or []:
        for cp in container.get("ports") or []:
            if cp.get("name") == target and cp.get("protocol", "TCP") == protocol:
                return int(cp["containerPort"])
    return None


def pod_address(pod: Obj, service: Obj) -> Obj:
    spec = pod.get("spec") or {}
    addr: Obj = {
        "ip": pod["status"]["podIP"],
        "targetRef": pod_reference(pod),
    }
    if spec.get("nodeName"):
        addr["nodeName"] = spec["nodeName"]
    if spec.get("hostname") and spec.get("subdomain") == service["metadata"]["name"]:
        addr["hostname"] = spec["hostname"]
    return addr


def should_include(pod: Obj, include_terminating: bool = False) -> bool:
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def compute_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """Endpoints `subsets` for `service` from the pods that match its selector."""
    spec = service.get("spec") or {}
    publish_unready = bool(spec.get("publishNotReadyAddresses"))
    service_ports = spec.get("ports") or []
    # port-set (as a canonical JSON string) -> (ready addresses, not-ready addresses)
    groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not should_include(pod):
            continue
        ports = []
        for sp in service_ports:
            number = resolve_target_port(sp, pod)
            if number is None:
                continue
            ep: Obj = {"port": number, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                ep["name"] = sp["name"]
            if sp.get("appProtocol"):
                ep["appProtocol"] = sp["appProtocol"]
            ports.append(ep)
        if service_ports and not ports:
            continue  # no port of the service can be served by this pod
        key = json.dumps(sorted(ports, key=lambda p: (p.get("name", ""), p["port"])), sort_keys=True)
        ready, not_ready = groups.setdefault(key, ([], []))
        (ready if publish_unready or is_pod_ready(pod) else not_ready).append(pod_address(pod, service))
    subsets = []
    for key in sorted(groups):
        ready, not_ready = groups[key]
        subset: Obj = {}
        if ready:
            subset["addresses"] = sorted(ready, key=_addr_key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=_addr_key)
        ports = json.loads(key)
        if ports:
            subset["ports"] = ports
        subsets.append(subset)
    return subsets


def _addr_key(addr: Obj) -> tuple[tuple[int, ...] | str, str]:
    ip = addr["ip"]
    try:
        return (tuple(int(p) for p in ip.split(".")), addr["targetRef"]["name"])
    except ValueError:
        return (ip, addr["targetRef"]["name"])


def endpoints_for(service: Obj, subsets: list[Obj], existing: Obj | None = None) -> Obj:
    """The Endpoints object for `service` with `subsets`, keeping an existing object's identity fields."""
    meta = service["metadata"]
    labels = dict(meta.get("labels") or {})
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels["service.kubernetes.io/headless"] = ""
    ep: Obj = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "labels": labels},
        "subsets": subsets,
    }
    if existing:
        em = existing.get("metadata") or {}
        for k in ("resourceVersion", "uid", "creationTimestamp", "annotations"):
            if k in em:
                ep["metadata"][k] = em[k]
    return ep


def endpoints_changed(existing: Obj, desired: Obj) -> bool:
    em, dm = existing.get("metadata") or {}, desired.get("metadata") or {}
    return (existing.get("subsets") or []) != desired["subsets"] or (em.get("labels") or {}) != dm["labels"]
