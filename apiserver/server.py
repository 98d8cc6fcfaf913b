"""The apiserver's state: one storage, one watch cache and one generic store per resource type, the resource table
(built-in kinds and the custom resources of established CRDs) and the OpenAPI documents derived from it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apimachinery.backoff import Backoff
from apimachinery.resources import RESOURCES, ResourceInfo
from apimachinery.timefmt import parse_time_or_none
from apimachinery.user import MASTERS
from apiserver import autoscalingv1, defaultobjects, eventsv1, fieldcheck, metrics, plugins
from apiserver.aggregator.available import AvailabilityChecker
from apiserver.aggregator.proxy import Proxy
from apiserver.aggregator.registry import Registry
from apiserver.allocator import ServiceAllocator
from apiserver.audit import Auditor
from apiserver.auth import Auth, bootstrap
from apiserver.auth.authenticators import ServiceAccountTokens, TokenFile
from apiserver.auth.tokens import TokenIssuer
from apiserver.cacher import Cacher
from apiserver.certificates import CSRStrategy
from apiserver.crd.controller import CRDController
from apiserver.crd.info import CustomResourceInfo
from apiserver.crd.lifecycle import CRDStrategy
from apiserver.crd.store import CustomResourceStore, CustomResourceStrategy
from apiserver.health import HealthEndpoint, NamedCheck, WriteProbe, event_check, ping, read_check
from apiserver.lookups import Lookups, RBACCaches
from apiserver.objectmeta import new_uid, now
from apiserver.openapi import OpenAPIDocuments
from apiserver.openapi_v2 import SwaggerDocument
from apiserver.registry import Store
from apiserver.resourcetable import ResourceTable
from apiserver.storage.interface import ErrorCode, Storage, StorageError
from apiserver.storagewatch import ObservedStorage
from apiserver.strategy import Strategy, strategies
from apiserver.watchcache import WatchCache

log = logging.getLogger("apiserver")

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass
class Options:
    service_cluster_ip_range: str = "10.96.0.0/12"
    service_node_port_range: str = "30000-32767"
    loadbalancer_ip_range: str | None = "10.250.0.0/24"
    watch_cache_size: int = 10000
    max_request_bytes: int = 3 * 1024 * 1024
    request_body_timeout: float = 60.0  # seconds to receive a whole request body
    event_ttl: float = 3600.0
    # Pod Security admission: the level of namespaces without labels, and namespaces never checked.
    pod_security_default: str = "privileged"
    pod_security_exempt_namespaces: tuple[str, ...] = ()
    allow_service_external_ips: bool = False  # DenyServiceExternalIPs is on unless this is set
    default_local_path_storage_class: bool = (
        False  # keep the default `local-path` StorageClass (created if missing)
    )
    cluster_cidr: str | None = None  # when set, Nodes' podCIDRs must lie inside it
    max_requests_inflight: int = 400
    max_mutating_requests_inflight: int = 200
    # Trust (DESIGN.md section 11)
    authorization_modes: tuple[str, ...] = ("Node", "RBAC")
    token_file: TokenFile | None = None
    token_issuer: TokenIssuer | None = None
    # The `kubernetes` Service's endpoint: where pods reach this apiserver (None: no Service is kept).
    advertise_address: str | None = None
    secure_port: int = 6443
    # The client certificate for the kubelets' APIs and the CA their serving certificates are checked with.
    kubelet_client_cert: str | None = None
    kubelet_client_key: str | None = None
    kubelet_ca: str | None = None
    # Operability (#26): one log line per request, and the audit log (apiserver/observe.py, apiserver/audit.py).
    access_log: bool = False
    auditor: Auditor | None = None
    # The aggregation layer: the front-proxy client certificate shown to aggregated servers, and whether to keep
    # the metrics-server's APIService (v1beta1.metrics.k8s.io, caBundle: metrics_ca_file) registered.
    proxy_client_cert: str | None = None
    proxy_client_key: str | None = None
    metrics_apiservice_ca_file: str | None = None


# CPython's cyclic collector runs a young collection every 700 new container objects, and the collections that
# follow reach the watch cache's objects (~100 per pod): with 10,000 pods cached, decoding a 500-pod page from
# storage took 30 ms instead of 6. The apiserver allocates in bursts (decoding, validation, field sets) and makes
# little cyclic garbage, so it collects less often. KUBELITE_GC_THRESHOLD ("a,b,c") overrides, for measuring.
GC_THRESHOLD = (20_000, 20, 10)


def tune_collector() -> None:
    raw = os.environ.get("KUBELITE_GC_THRESHOLD", "")
    threshold: tuple[int, ...] = GC_THRESHOLD
    if raw:
        try:
            threshold = tuple(int(x) for x in raw.split(","))
            if len(threshold) != 3 or min(threshold) < 1:
                raise ValueError(raw)
        except ValueError:
            log.warning(
                "KUBELITE_GC_THRESHOLD is not three positive integers; using the default",
                extra={"value": raw},
            )
            threshold = GC_THRESHOLD
    gc.set_threshold(*threshold)


class APIServer:
    def __init__(self, storage: Storage, options: Options | None = None) -> None:
        # Every storage failure is logged; every write's outcome feeds /readyz's etcd-readiness check.
        observed = ObservedStorage(storage)
        self.write_probe = WriteProbe(observed)
        observed.on_write = self.write_probe.record
        storage = self.storage = observed
        self.options = options or Options()
        self.allocator = ServiceAllocator(
            storage,
            self.options.service_cluster_ip_range,
            self.options.service_node_port_range,
            self.options.loadbalancer_ip_range,
        )
        by_resource = strategies(self.allocator, self.options.cluster_cidr) | {
            "customresourcedefinitions": CRDStrategy(),
            "certificatesigningrequests": CSRStrategy(),
        }
        self.table = ResourceTable(RESOURCES)
        self.openapi = OpenAPIDocuments(self.table)
        self.openapi_v2 = SwaggerDocument(self.table)
        self.stores: dict[tuple[str, str], Store] = {}
        for info in RESOURCES:
            if not info.stored or info.group == eventsv1.GROUP or autoscalingv1.is_view(info):
                continue
            cache = WatchCache(f"/registry/{info.resource}/", capacity=self.options.watch_cache_size)
            self.stores[(info.group, info.resource)] = Store(
                info, storage, cache, by_resource.get(info.resource, Strategy())
            )
        self.cacher = Cacher(storage, [s.cache for s in self.stores.values()])
        events_v1 = next(i for i in RESOURCES if i.group == eventsv1.GROUP)
        self.stores[(eventsv1.GROUP, "events")] = eventsv1.EventsV1Store(
            events_v1, self.stores[("", "events")]
        )
        # Versions served beside their group's storage version, by (group, version, resource).
        hpa_v1 = next(i for i in RESOURCES if autoscalingv1.is_view(i))
        self.views: dict[tuple[str, str, str], Store] = {
            (hpa_v1.group, hpa_v1.version, hpa_v1.resource): autoscalingv1.HPAV1Store(
                hpa_v1, self.stores[(hpa_v1.group, hpa_v1.resource)]
            )
        }
        # Custom resources: a store per served version, a watch cache per CRD (all its versions share it).
        self.custom_stores: dict[tuple[str, str, str], CustomResourceStore] = {}
        self._custom_caches: dict[str, WatchCache] = {}
        self.crds = CRDController(self)
        self.aggregator = Registry(self)
        self.aggregator_proxy = Proxy(self)
        self.availability = AvailabilityChecker(self, self.aggregator)
        self._wire_auth()
        self._bootstrap: asyncio.Task[None] | None = None
        self._gauges: asyncio.Task[None] | None = None
        self._expiry: asyncio.Task[None] | None = None
        self.health = self._health_endpoints()

    def _health_endpoints(self) -> dict[str, HealthEndpoint]:
        """/livez, /readyz and /healthz with kube-apiserver's check names (apiserver/health.py)."""
        reads = NamedCheck("etcd", read_check(self.storage))
        hooks = [
            NamedCheck("poststarthook/bootstrap-controller", event_check(self.bootstrapped, "not finished")),
            NamedCheck("poststarthook/crd-informer-synced", event_check(self.crds.synced, "not synced")),
        ]
        live = [NamedCheck("ping", ping), reads, *hooks]
        ready = [
            NamedCheck("ping", ping),
            reads,
            NamedCheck("etcd-readiness", self.write_probe.check),
            NamedCheck("informer-sync", self._caches_synced),
            *hooks,
        ]
        return {
            "livez": HealthEndpoint("livez", live),
            "readyz": HealthEndpoint("readyz", ready),
            "healthz": HealthEndpoint("healthz", live),
        }

    async def _caches_synced(self) -> str | None:
        waiting = sorted(r for (_g, r), s in self.stores.items() if not s.cache.ready.is_set())
        return f"watch caches not synced: {', '.join(waiting[:5])}" if waiting else None

    def _wire_auth(self) -> None:
        """Authentication, authorization and admission, from the plugin lists in apiserver/plugins.py."""
        options = self.options
        self.privileged_groups: tuple[str, ...] = (MASTERS,)
        self.lookups = Lookups(self)
        self.rbac_caches = RBACCaches(self)
        self.token_file = options.token_file
        self.token_issuer = options.token_issuer
        self.sa_authenticator = (
            ServiceAccountTokens(options.token_issuer, self.lookups) if options.token_issuer else None
        )
        self.rbac = plugins.rbac_authorizer(self) if "RBAC" in options.authorization_modes else None
        self.bootstrapped = asyncio.Event()
        self.auth = Auth(
            plugins.authenticator_chain(self),
            plugins.authorizer_chain(self, options.authorization_modes),
            self._auth_ready,
        )
        self.admission = plugins.admission_chain(self)
        for store in [*self.stores.values(), *self.views.values()]:
            store.admission = self.admission

    async def _auth_ready(self) -> None:
        await self.rbac_caches.ready()
        await self.bootstrapped.wait()

    def store(self, info: ResourceInfo) -> Store:
        if isinstance(info, CustomResourceInfo):
            return self.custom_stores[(info.group, info.version, info.resource)]
        view = self.views.get((info.group, info.version, info.resource))
        return view or self.stores[(info.group, info.resource)]

    def store_for(self, group: str, resource: str) -> Store:
        return self.stores[(group, resource)]

    def schema_of(self, info: ResourceInfo) -> dict[str, Any] | None:
        """The schema a body of this resource is checked against (fieldValidation=Strict)."""
        if isinstance(info, CustomResourceInfo):
            if info.schema is None:
                return None
            properties = {**(info.schema.get("properties") or {}), **fieldcheck.EMBEDDED}
            return {**info.schema, "properties": properties}
        return fieldcheck.kind_schema(info.group, info.version, info.kind)

    # ---- custom resources ---------------------------------------------------------------------------------------

    def builtin_names(self) -> set[tuple[str, str]]:
        """(group, plural) of the built-in resources, which no CRD may take."""
        return {(info.group, info.resource) for info in RESOURCES}

    def custom_stores_of(self, crd_name: str) -> list[CustomResourceStore]:
        return [
            self.custom_stores[(i.group, i.version, i.resource)]
            for i in self.table.custom(crd_name)
            if (i.group, i.version, i.resource) in self.custom_stores
        ]

    async def install_custom(self, crd_name: str, infos: tuple[CustomResourceInfo, ...]) -> None:
        """Serve the versions of an established CRD (or serve them as changed)."""
        if self.table.custom(crd_name) == infos or not infos:
            if not infos:
                self.uninstall_custom(crd_name)
            return
        cache = self._custom_caches.get(crd_name)
        if cache is None or cache.prefix != infos[0].storage_prefix:
            if cache is not None:
                self.cacher.remove(cache)
            cache = WatchCache(infos[0].storage_prefix, capacity=self.options.watch_cache_size)
            self._custom_caches[crd_name] = cache
            await self.cacher.add(cache)
        schemas = {info.version: info.schema for info in infos}
        for old in self.table.custom(crd_name):
            self.custom_stores.pop((old.group, old.version, old.resource), None)
        for info in infos:
            strategy = CustomResourceStrategy(info, schemas)
            store = CustomResourceStore(info, self.storage, cache, strategy)
            store.admission = self.admission
            self.custom_stores[(info.group, info.version, info.resource)] = store
        self.table.set_custom(crd_name, infos)
        log.info("serving custom resources", extra={"crd": crd_name, "versions": [i.version for i in infos]})

    def uninstall_custom(self, crd_name: str) -> None:
        infos = self.table.custom(crd_name)
        if not infos and crd_name not in self._custom_caches:
            return
        self.table.remove_custom(crd_name)
        for info in infos:
            self.custom_stores.pop((info.group, info.version, info.resource), None)
        cache = self._custom_caches.pop(crd_name, None)
        if cache is not None:
            self.cacher.remove(cache)
        log.info("stopped serving custom resources", extra={"crd": crd_name})

    # ---- life -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        tune_collector()
        self.cacher.start()
        self.crds.start()
        self._bootstrap = asyncio.create_task(self._ensure_system_namespaces())
        self._gauges = asyncio.create_task(self._update_gauges())
        self._expiry = asyncio.create_task(self._expire_events())
        self.write_probe.start()
        self.availability.start()

    async def stop(self) -> None:
        await self.write_probe.stop()
        for task in (self._bootstrap, self._gauges, self._expiry):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.availability.stop()
        await self.aggregator_proxy.aclose()
        await self.crds.stop()
        await self.cacher.stop()
        await self.storage.close()

    async def ready(self) -> bool:
        """Every /readyz check passes."""
        for check in self.health["readyz"].checks:
            if await check.check() is not None:
                return False
        return True

    async def _ensure_system_namespaces(self) -> None:
        """Create the namespaces every cluster has, the bootstrap RBAC policy and the `kubernetes` Service;
        retried until storage answers."""
        await self._create_namespaces()
        backoff = Backoff(initial=0.2, cap=2.0)
        while True:
            try:
                await bootstrap.reconcile(self.storage)
                if self.options.default_local_path_storage_class:
                    await defaultobjects.local_path_storage_class(self.storage)
                if self.options.metrics_apiservice_ca_file:
                    await defaultobjects.ensure_metrics_api_service(
                        self.storage, self.options.metrics_apiservice_ca_file
                    )
                if self.options.advertise_address:
                    await defaultobjects.kubernetes_service(
                        self, self.options.advertise_address, self.options.secure_port
                    )
                break
            except StorageError as exc:
                log.warning("bootstrap did not finish (%s); retrying", exc)
                await asyncio.sleep(backoff.next())
        self.bootstrapped.set()

    async def _create_namespaces(self) -> None:
        pending = list(SYSTEM_NAMESPACES)
        backoff = Backoff(initial=0.2, cap=2.0)
        while pending:
            name = pending[0]
            obj = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": name,
                    "uid": new_uid(),
                    "creationTimestamp": now(),
                    "labels": {"kubernetes.io/metadata.name": name},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            try:
                await self.storage.create(f"/registry/namespaces/{name}", obj)
                pending.pop(0)
            except StorageError as exc:
                if exc.code is ErrorCode.EXISTS:
                    pending.pop(0)
                    continue
                await asyncio.sleep(backoff.next())

    async def _expire_events(self) -> None:
        """Events live for --event-ttl (one hour by default), as in Kubernetes, where etcd leases expire them."""
        events = self.stores[("", "events")]
        while True:
            await asyncio.sleep(60)
            cutoff = time.time() - self.options.event_ttl
            for key, obj in list(events.cache.objects.items()):
                stamp = (
                    obj.get("lastTimestamp")
                    or obj.get("eventTime")
                    or obj["metadata"].get("creationTimestamp")
                )
                if stamp and _epoch(stamp) < cutoff:
                    with contextlib.suppress(StorageError):
                        await self.storage.delete(key)

    async def _update_gauges(self) -> None:
        while True:
            for (group, resource), store in self.stores.items():
                metrics.cache_size.labels(resource).set(len(store.cache.objects))
                metrics.storage_objects.labels(f"{resource}.{group}" if group else resource).set(
                    len(store.cache.objects)
                )
            await asyncio.sleep(5)

    async def check_namespace(
        self, namespace: str, resource: str = "", group: str = "", name: str = ""
    ) -> None:
        """Objects may be created only in a namespace that exists and is not terminating (the NamespaceLifecycle
        admission plugin: a Forbidden naming the object, with a NamespaceTerminating cause)."""
        ns_store = self.stores[("", "namespaces")]
        obj = ns_store.cache.get(f"/registry/namespaces/{namespace}")
        if obj is None:
            obj = await ns_store.get(None, namespace)
        if (obj.get("status") or {}).get("phase") == "Terminating" or (obj.get("metadata") or {}).get(
            "deletionTimestamp"
        ):
            err = errors.forbidden_resource(
                resource,
                name,
                group,
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )
            err.details["causes"] = [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ]
            raise err


def _epoch(stamp: str) -> float:
    parsed = parse_time_or_none(stamp)
    return parsed.timestamp() if parsed else time.time()
