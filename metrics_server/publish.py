"""The kube-system/metrics-server Service and where it leads, kept by this process (as kube-dns keeps its own).

metrics-server runs as a host process under `kctl up` and as a container in compose, not as a pod, so no
controller can find its address from a selector. It keeps:

* the Service `kube-system/metrics-server` (port 443 `https`, no selector), which the APIService
  v1beta1.metrics.k8s.io names;
* the EndpointSlice `kube-system/metrics-server` (`kubernetes.io/service-name: metrics-server`) with this process's
  address and HTTPS port, ready once the first metrics are in.

Level-based and cheap: `reconcile()` reads both and writes only a difference; run every resync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apimachinery.client import Client
from apimachinery.resources import must_resource

log = logging.getLogger("metrics_server.publish")

Obj = dict[str, Any]
SERVICES = must_resource("", "services")
ENDPOINTSLICES = must_resource("discovery.k8s.io", "endpointslices")
NAMESPACE, NAME = "kube-system", "metrics-server"
LABELS = {"k8s-app": "metrics-server"}
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"


@dataclass(frozen=True)
class Target:
    address: str
    port: int


def desired_service() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {"type": "ClusterIP", "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": "https"}]},
    }  # fmt: skip


def desired_slice(service: Obj, target: Target, ready: bool) -> Obj:
    endpoints = (
        [
            {
                "addresses": [target.address],
                "conditions": {"ready": True, "serving": True, "terminating": False},
            }
        ]
        if ready
        else []
    )
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {**LABELS, SERVICE_NAME_LABEL: NAME, MANAGED_BY_LABEL: "metrics-server"},
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": NAME,
                    "uid": service["metadata"].get("uid"),
                    "controller": True,
                }
            ],
        },
        "addressType": "IPv6" if ":" in target.address else "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "https", "protocol": "TCP", "port": target.port}],
    }


async def reconcile(client: Client, target: Target, ready: bool) -> None:
    """Make the Service and the EndpointSlice say what they should. StatusError/ConnectionError on failure."""
    try:
        service = await client.get(SERVICES, NAME, NAMESPACE)
    except errors.StatusError as exc:
        if not errors.is_not_found(exc):
            raise
        service = await client.create(SERVICES, desired_service(), NAMESPACE)
        log.info("created the metrics-server Service", extra={"cluster_ip": service["spec"].get("clusterIP")})
    wanted = desired_slice(service, target, ready)
    try:
        current = await client.get(ENDPOINTSLICES, NAME, NAMESPACE)
    except errors.StatusError as exc:
        if not errors.is_not_found(exc):
            raise
        await client.create(ENDPOINTSLICES, wanted, NAMESPACE)
        return
    if all(current.get(k) == wanted[k] for k in ("addressType", "endpoints", "ports")):
        return
    body = {**current, **{k: wanted[k] for k in ("addressType", "endpoints", "ports")}}
    body["metadata"] = {**current["metadata"], "labels": wanted["metadata"]["labels"],
                        "ownerReferences": wanted["metadata"]["ownerReferences"]}  # fmt: skip
    await client.update(ENDPOINTSLICES, body, NAMESPACE)
