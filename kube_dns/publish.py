"""The kube-dns Service and where it leads: kept by this process, level-based.

kube-dns does not run as a pod (under `kctl up` it is a process on the host, in compose a container of its own), so
no controller can find its address from a selector. As the apiserver keeps the `kubernetes` Service's endpoints,
kube-dns keeps its own:

* the Service `kube-system/kube-dns`: ClusterIP the 10th address of the service range, ports 53/UDP `dns`,
  53/TCP `dns-tcp`, 9153/TCP `metrics`, labelled `k8s-app: kube-dns` and `kubernetes.io/cluster-service` (so that
  `kubectl cluster-info` lists it), and without a selector;
* the EndpointSlice `kube-system/kube-dns` (`kubernetes.io/service-name: kube-dns`, managed by `kube-dns`) and the
  Endpoints `kube-system/kube-dns`, both naming this process's address and ports, ready once the caches have
  synced and the listeners are up. kube-proxy reads the slice and programs the Service like any other.

A Service that somebody else made with a selector is left alone, and so are its endpoints (a kube-dns that runs as
pods owns them). A Service with another cluster IP is kept (the address is immutable) and said so in the log.
`reconcile()` compares the caches with what they should hold and writes only the difference; it runs after every
change to one of these three objects and once a minute.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from apimachinery import errors
from apimachinery.backoff import Backoff
from apimachinery.client import Client
from apimachinery.dnsconfig import DNS_LABEL, DNS_NAMESPACE, DNS_SERVICE
from apimachinery.informer import Informer
from apimachinery.resources import must_resource

log = logging.getLogger("kube_dns.publish")

Obj = dict[str, Any]
SERVICES = must_resource("", "services")
ENDPOINTS = must_resource("", "endpoints")
ENDPOINTSLICES = must_resource("discovery.k8s.io", "endpointslices")
MANAGED_BY = "kube-dns"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
RESYNC_SECONDS = 60.0


@dataclass(frozen=True)
class Target:
    """Where the Service leads: this process's address, its DNS port and its metrics port."""

    address: str
    dns_port: int
    metrics_port: int


def service_ports() -> list[Obj]:
    return [
        {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
        {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53},
        {"name": "metrics", "protocol": "TCP", "port": 9153, "targetPort": 9153},
    ]


def desired_service(cluster_ip: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": DNS_SERVICE,
            "namespace": DNS_NAMESPACE,
            "labels": {**DNS_LABEL, "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeDNS"},
        },
        "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "ports": service_ports()},
    }


def _target_ports(target: Target) -> list[Obj]:
    return [
        {"name": "dns", "protocol": "UDP", "port": target.dns_port},
        {"name": "dns-tcp", "protocol": "TCP", "port": target.dns_port},
        {"name": "metrics", "protocol": "TCP", "port": target.metrics_port},
    ]


def desired_slice(service: Obj, target: Target, ready: bool) -> Obj:
    endpoints = []
    if ready:
        endpoints = [
            {
                "addresses": [target.address],
                "conditions": {"ready": True, "serving": True, "terminating": False},
            }
        ]
    md = service["metadata"]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": DNS_SERVICE,
            "namespace": DNS_NAMESPACE,
            "labels": {SERVICE_NAME_LABEL: DNS_SERVICE, MANAGED_BY_LABEL: MANAGED_BY},
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": md["name"],
                    "uid": md.get("uid"),
                    "controller": True,
                }
            ],
        },
        "addressType": "IPv6" if ":" in target.address else "IPv4",
        "endpoints": endpoints,
        "ports": _target_ports(target),
    }


def desired_endpoints(target: Target, ready: bool) -> Obj:
    ports = _target_ports(target)
    subsets = [{"addresses": [{"ip": target.address}], "ports": ports}] if ready else []
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": DNS_SERVICE, "namespace": DNS_NAMESPACE, "labels": dict(DNS_LABEL)},
        "subsets": subsets,
    }


def _differs(current: Obj, desired: Obj, fields: tuple[str, ...]) -> bool:
    if any(current.get(f) != desired.get(f) for f in fields):
        return True
    labels = (current.get("metadata") or {}).get("labels") or {}
    return any(labels.get(k) != v for k, v in desired["metadata"]["labels"].items())


@dataclass(eq=False)
class Publisher:
    client: Client
    services: Informer
    slices: Informer
    endpoints: Informer
    _: KW_ONLY
    cluster_ip: str
    target: Target
    ready: bool = field(default=False, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _warned_ip: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        for inf in (self.services, self.slices, self.endpoints):
            inf.add_handler(self._maybe_wake, lambda _old, new: self._maybe_wake(new), self._maybe_wake)

    def _maybe_wake(self, obj: Obj) -> None:
        md = obj.get("metadata") or {}
        if md.get("namespace") == DNS_NAMESPACE and md.get("name") == DNS_SERVICE:
            self._wake.set()

    def set_ready(self, ready: bool) -> None:
        self.ready = ready
        self._wake.set()

    async def run(self) -> None:
        """Reconcile after every change and once a minute, until cancelled; failures are retried."""
        backoff = Backoff(initial=0.5, cap=10.0)
        while True:
            self._wake.clear()
            try:
                await self.reconcile()
                backoff.reset()
                timeout = RESYNC_SECONDS
            except (errors.StatusError, ConnectionError) as exc:
                timeout = backoff.next()
                log.warning(
                    "publishing the kube-dns Service failed", extra={"error": str(exc), "retry_in": timeout}
                )
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass  # the periodic resync

    async def reconcile(self, *, create_service: bool = True) -> None:
        svc = self.services.store.get_by_name(DNS_SERVICE, DNS_NAMESPACE)
        if svc is None and not create_service:
            return
        if svc is None:
            try:
                svc = await self.client.create(SERVICES, desired_service(self.cluster_ip), DNS_NAMESPACE)
            except errors.StatusError as exc:
                if not errors.is_already_exists(exc):
                    raise
                return  # made meanwhile: its event brings us back
            log.info("created the kube-dns Service", extra={"cluster_ip": self.cluster_ip})
        assert svc is not None
        spec = svc.get("spec") or {}
        if spec.get("selector"):
            return  # kube-dns pods behind a selector: the endpoint controllers own the endpoints
        if spec.get("clusterIP") != self.cluster_ip and not self._warned_ip:
            self._warned_ip = True
            log.warning(
                "the kube-dns Service has another cluster IP than the one pods are told to use",
                extra={"service_ip": spec.get("clusterIP"), "expected": self.cluster_ip},
            )
        await self._apply(self.slices, ENDPOINTSLICES, desired_slice(svc, self.target, self.ready),
                          ("addressType", "endpoints", "ports"))  # fmt: skip
        await self._apply(self.endpoints, ENDPOINTS, desired_endpoints(self.target, self.ready), ("subsets",))

    async def _apply(self, informer: Informer, res: Any, desired: Obj, fields: tuple[str, ...]) -> None:
        current = informer.store.get_by_name(DNS_SERVICE, DNS_NAMESPACE)
        if current is None:
            try:
                await self.client.create(res, desired, DNS_NAMESPACE)
            except errors.StatusError as exc:
                if not errors.is_already_exists(exc):
                    raise
            return
        if not _differs(current, desired, fields):
            return
        body = {**current, **{f: desired[f] for f in fields if f in desired}}
        body["metadata"] = {**current["metadata"], "labels": {**(current["metadata"].get("labels") or {}),
                                                              **desired["metadata"]["labels"]}}  # fmt: skip
        if "ownerReferences" in desired["metadata"]:
            body["metadata"]["ownerReferences"] = desired["metadata"]["ownerReferences"]
        try:
            await self.client.update(res, body, DNS_NAMESPACE)
        except errors.StatusError as exc:
            if not (errors.is_conflict(exc) or errors.is_not_found(exc)):
                raise
            self._wake.set()  # our cache was behind: look again once it has caught up

    async def withdraw(self) -> None:
        """On the way out: no endpoints, so kube-proxy rejects queries at once instead of sending them nowhere."""
        self.ready = False
        try:
            async with asyncio.timeout(3):
                await self.reconcile(create_service=False)
        except (TimeoutError, errors.StatusError, ConnectionError) as exc:
            log.warning("could not withdraw the kube-dns endpoints", extra={"error": str(exc)})
