"""What every controller in the manager shares: the context it is built from and the run loop.

    Context          the client, the shared informer factory, the event recorder and the options
    Controller       a work queue, `run(workers)`, and `reconcile(key)` for subclasses to write
    owner_key        which cached owner controls an object (its controller reference, uid checked)

The contract of `reconcile(key)` (controller-runtime's): it is driven by the current state in the informer caches,
never by the event that woke it, so running it twice does no harm; an object that is not found is done; an
exception means "retry with backoff"; a returned number of seconds means "look again after that long" (progress
deadlines, minReadySeconds, tolerationSeconds).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Histogram

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_conflict
from apimachinery.events import WARNING, EventRecorder
from apimachinery.informer import Informer, InformerFactory, Store
from apimachinery.labels import Selector, from_label_selector
from apimachinery.resources import ResourceInfo, must_resource
from apimachinery.workqueue import WorkQueue, run_workers
from controller_manager.podutil import Obj, controller_ref, key_of

log = logging.getLogger(__name__)

RECONCILE_SECONDS = Histogram(
    "controller_reconcile_duration_seconds",
    "Time spent in one reconcile",
    ["controller"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECONCILE_TOTAL = Counter("controller_reconcile_total", "Reconciles run", ["controller"])
RECONCILE_CONFLICTS = Counter(
    "controller_reconcile_conflicts_total",
    "Reconciles that lost an optimistic-concurrency race",
    ["controller"],
)
CONFLICT_RETRY_SECONDS = 0.2
RECONCILE_ERRORS = Counter(
    "controller_reconcile_errors_total", "Reconciles that failed (and were requeued)", ["controller"]
)

PODS = must_resource("", "pods")
NODES = must_resource("", "nodes")
SERVICES = must_resource("", "services")
ENDPOINTS = must_resource("", "endpoints")
ENDPOINTSLICES = must_resource("discovery.k8s.io", "endpointslices")
NAMESPACES = must_resource("", "namespaces")
REPLICASETS = must_resource("apps", "replicasets")
DEPLOYMENTS = must_resource("apps", "deployments")
LEASES = must_resource("coordination.k8s.io", "leases")
JOBS = must_resource("batch", "jobs")
PVS = must_resource("", "persistentvolumes")
PVCS = must_resource("", "persistentvolumeclaims")
CONFIGMAPS = must_resource("", "configmaps")

SELECTING_ALL = "SelectingAll"  # the event of an owner whose empty selector would select every pod


@dataclass
class Options:
    """The controller-manager's tunables (command-line flags)."""

    node_monitor_grace_period: float = 40.0
    node_startup_grace_period: float = 60.0
    node_eviction_rate: float = 0.1  # nodes per second that may get NoExecute taints
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    allocate_node_cidrs: bool = True
    max_endpoints_per_slice: int = 100
    expectations_ttl: float = 300.0
    job_pod_failure_backoff: float = 10.0  # seconds before a failed Job pod is replaced, doubling per failure
    workers: dict[str, int] = field(default_factory=dict)
    gc_resources: tuple[str, ...] | None = (
        None  # qualified resource names the GC watches; None = all but events
    )
    root_ca_pem: str = ""  # --root-ca-file: published as kube-root-ca.crt in every namespace
    hpa_sync_period: float = 15.0  # --horizontal-pod-autoscaler-sync-period
    hpa_downscale_stabilization: float = 300.0  # its window for HPAs without a behavior
    hpa_tolerance: float = 0.1  # a usage ratio this close to 1 changes nothing
    # The CSR signer's CA (--cluster-signing-cert-file, --cluster-signing-key-file) and longest lifetime.
    cluster_signing_cert_file: str = ""
    cluster_signing_key_file: str = ""
    cluster_signing_duration: float = 365 * 24 * 3600.0


@dataclass
class Context:
    client: Client
    factory: InformerFactory
    recorder: EventRecorder
    options: Options


def with_kind(obj: Obj, res: ResourceInfo) -> Obj:
    """`obj` with the kind and apiVersion that events and writes need (cached and listed objects have neither)."""
    return {**obj, "kind": res.kind, "apiVersion": res.group_version}


def working_copy(informer: Informer, key: str) -> Obj | None:
    """The object cached at `key`, copied for reconcile to change (never change the cache's own: other
    controllers read it), with its kind; None when it is gone."""
    cached = informer.store.get(key)
    return None if cached is None else with_kind(copy.deepcopy(cached), informer.res)


Handler = Callable[[Obj], Any]
UpdateHandler = Callable[[Obj, Obj], Any]


class Same:
    """The default of `Controller.watch`'s update and delete handlers: the change handler."""


SAME = Same()


def _on_new(on_change: Handler) -> UpdateHandler:
    return lambda _old, new: on_change(new)


def owner_key(obj: Obj, kind: str, owners: Store) -> str | None:
    """The key of the `kind` object in `owners` that controls `obj`: None when its controller is of another kind,
    or is not in the cache with the uid the reference names (a deleted and re-created owner is another owner)."""
    ref = controller_ref(obj)
    if not ref or ref.get("kind") != kind:
        return None
    key = f"{obj['metadata'].get('namespace')}/{ref.get('name')}"
    owner = owners.get(key)
    return key if owner is not None and owner["metadata"].get("uid") == ref.get("uid") else None


def spec_selector(owner: Obj) -> Selector:
    """`owner`'s spec.selector (a LabelSelector); ValueError when it is invalid."""
    return from_label_selector((owner.get("spec") or {}).get("selector"))


class Controller:
    """Base of every controller: subclasses set `name`, wire informers in `__init__` (`watch` for what is
    reconciled by its own key, `watch_owned` for what wakes the owner that controls it), and write `reconcile`."""

    name = "controller"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.recorder = ctx.recorder
        self.options = ctx.options
        self.queue: WorkQueue[str] = WorkQueue(self.name)

    def enqueue(self, key: str) -> None:
        self.queue.add(key)

    def enqueue_object(self, obj: Obj) -> None:
        """The handler of a controller keyed by the objects it watches: reconcile `obj` (by its cache key)."""
        self.enqueue(key_of(obj))

    def watch(
        self,
        res: ResourceInfo,
        on_change: Handler | None = None,
        *,
        on_update: UpdateHandler | Same | None = SAME,
        on_delete: Handler | Same | None = SAME,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Informer:
        """The shared informer on `res` (narrowed by namespace and selectors), with this controller's handlers:
        `on_change(obj)` on an add, an update (with the new object) and a delete, unless `on_update(old, new)` or
        `on_delete(obj)` is given for those (None: ignore that kind of event). Handlers only enqueue keys."""
        informer = self.ctx.factory.informer(res, namespace, label_selector, field_selector)
        if isinstance(on_update, Same):
            on_update = None if on_change is None else _on_new(on_change)
        if isinstance(on_delete, Same):
            on_delete = on_change
        informer.add_handler(on_change, on_update, on_delete)
        return informer

    def watch_owned(
        self, res: ResourceInfo, owners: Informer, *, on_orphan: Handler | None = None
    ) -> Informer:
        """The informer on the `res` objects that the objects of `owners` control (a StatefulSet's pods, a
        CronJob's Jobs): a change reconciles the owner that controls the object and, on an update, the one that
        controlled it before; an object no controller owns goes to `on_orphan` (to wake an owner that may adopt
        it). A deletion is a change: the owner counts what it has left."""
        kind = owners.res.kind

        def on_change(obj: Obj) -> None:
            key = owner_key(obj, kind, owners.store)
            if key is not None:
                self.enqueue(key)
            elif on_orphan is not None and controller_ref(obj) is None:
                on_orphan(obj)

        def on_update(old: Obj, new: Obj) -> None:
            old_key = owner_key(old, kind, owners.store)
            if old_key is not None and old_key != owner_key(new, kind, owners.store):
                self.enqueue(old_key)
            on_change(new)

        return self.watch(res, on_change, on_update=on_update)

    def enqueue_selecting(
        self, obj: Obj, owners: Store, selector: Callable[[Obj], Selector] = spec_selector
    ) -> None:
        """Reconcile every owner in `obj`'s namespace whose selector matches `obj`'s labels (an orphan they may
        adopt); an owner with an invalid selector selects nothing."""
        labels = obj["metadata"].get("labels") or {}
        for owner in owners.by_index("namespace", obj["metadata"].get("namespace") or ""):
            try:
                if selector(owner).matches(labels):
                    self.enqueue(key_of(owner))
            except ValueError:
                continue

    async def reconcile(self, key: str) -> float | None:
        raise NotImplementedError

    def selector_of(self, owner: Obj, key: str, noun: str) -> Selector | None:
        """`owner`'s spec.selector, for a reconcile: None when it is invalid (logged) or selects every pod (refused,
        as upstream, with a SelectingAll warning event that names the owner as `noun`)."""
        try:
            selector = spec_selector(owner)
        except ValueError as exc:
            log.warning("invalid selector", extra={self.name: key, "error": str(exc)})
            return None
        if selector.is_empty():
            message = f"This {noun} is selecting all pods. A non-empty selector is required."
            self.recorder.event(owner, WARNING, SELECTING_ALL, message)
            return None
        return selector

    async def _timed_reconcile(self, key: str) -> None:
        started = time.perf_counter()
        RECONCILE_TOTAL.labels(self.name).inc()
        try:
            after = await self.reconcile(key)
        except asyncio.CancelledError:
            raise
        except StatusError as err:
            if not is_conflict(err):
                RECONCILE_ERRORS.labels(self.name).inc()
                raise
            # We wrote from a cache that was behind (often behind our own last write). Not a failure: the
            # informer event of that write brings the key back; the delayed add covers a lost event.
            RECONCILE_CONFLICTS.labels(self.name).inc()
            log.debug("conflict, will retry", extra={"controller": self.name, "key": key})
            after = CONFLICT_RETRY_SECONDS
        except Exception:
            RECONCILE_ERRORS.labels(self.name).inc()
            raise
        finally:
            RECONCILE_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        if after is not None:
            self.queue.add_after(key, after)

    async def start(self) -> None:
        """Work done once the caches are synced, before workers start (e.g. rebuilding allocator state)."""

    async def run(self, workers: int = 1) -> None:
        """Process keys with `workers` concurrent reconciles until cancelled; caches must be synced first (the
        manager sees to that, and gives each controller its number of workers)."""
        await self.start()
        log.info("controller started", extra={"controller": self.name, "workers": workers})
        try:
            await run_workers(self.queue, self._timed_reconcile, workers)
        finally:
            self.queue.shutdown()
