"""The controller manager: builds the selected controllers on one shared informer factory and runs them.

With leader election only the holder of the Lease kube-system/kube-controller-manager runs controllers; a manager
that loses the Lease stops its controllers and exits (as kube-controller-manager does), so a supervisor restarts it
as a standby with empty caches rather than with state from its time as leader.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from dataclasses import dataclass

from apimachinery.client import Client
from apimachinery.events import EventRecorder
from apimachinery.informer import InformerFactory
from apimachinery.leaderelection import LeaderElector
from controller_manager.base import Context, Controller, Options
from controller_manager.bootstrap_tokens import BootstrapSigner, TokenCleaner
from controller_manager.certificates import CSRApprovingController, CSRSigningController
from controller_manager.clusterrole_aggregation import ClusterRoleAggregationController
from controller_manager.cronjob import CronJobController
from controller_manager.daemonset import DaemonSetController
from controller_manager.deployment import DeploymentController
from controller_manager.endpoints import EndpointsController
from controller_manager.endpointslice import EndpointSliceController
from controller_manager.garbage_collector import GarbageCollector
from controller_manager.hpa import HorizontalPodAutoscalerController
from controller_manager.job import JobController
from controller_manager.namespace import NamespaceController
from controller_manager.node_ipam import NodeIpamController
from controller_manager.node_lifecycle import NodeLifecycleController
from controller_manager.persistentvolume import PersistentVolumeController
from controller_manager.replicaset import ReplicaSetController
from controller_manager.replication_controller import ReplicationControllerController
from controller_manager.serviceaccounts import RootCAPublisher, ServiceAccountController
from controller_manager.statefulset import StatefulSetController
from controller_manager.ttl_after_finished import TTLAfterFinishedController
from controller_manager.volume_protection import VolumeProtectionController

log = logging.getLogger(__name__)

COMPONENT = "controller-manager"
LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "kube-controller-manager"


@dataclass(frozen=True)
class ControllerDescriptor:
    """One controller the manager can run, as upstream's NewControllerDescriptors lists them: the class that builds
    it (its `name` is the one --controllers takes), how many keys it works on at once by default (upstream keeps
    these, the Concurrent*Syncs, in its configuration; `Options.workers` overrides them), and the other names
    kube-controller-manager accepts for it in --controllers."""

    constructor: type[Controller]
    workers: int
    aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.constructor.name


DESCRIPTORS = (
    ControllerDescriptor(ReplicaSetController, 5, ("replicaset-controller",)),
    ControllerDescriptor(DeploymentController, 5, ("deployment-controller",)),
    ControllerDescriptor(EndpointsController, 5, ("endpoints-controller",)),
    ControllerDescriptor(EndpointSliceController, 5, ("endpointslice-controller",)),
    ControllerDescriptor(NodeLifecycleController, 2, ("node-lifecycle-controller", "nodelifecycle")),
    ControllerDescriptor(NodeIpamController, 1, ("node-ipam-controller", "nodeipam")),
    ControllerDescriptor(GarbageCollector, 5, ("garbage-collector-controller", "garbagecollector")),
    ControllerDescriptor(NamespaceController, 2, ("namespace-controller",)),
    ControllerDescriptor(ReplicationControllerController, 5, ("replicationcontroller-controller",)),
    ControllerDescriptor(DaemonSetController, 2, ("daemonset-controller",)),
    ControllerDescriptor(StatefulSetController, 2, ("statefulset-controller",)),
    ControllerDescriptor(JobController, 5, ("job-controller",)),
    ControllerDescriptor(CronJobController, 2, ("cronjob-controller",)),
    ControllerDescriptor(
        TTLAfterFinishedController, 2, ("ttl-after-finished-controller", "ttlafterfinished")
    ),
    ControllerDescriptor(ServiceAccountController, 1, ("serviceaccount-controller",)),
    ControllerDescriptor(RootCAPublisher, 1, ("root-ca-certificate-publisher-controller",)),
    ControllerDescriptor(ClusterRoleAggregationController, 1, ("clusterrole-aggregation-controller",)),
    # Binding is a matching over every volume: one worker keeps two claims off one volume.
    ControllerDescriptor(PersistentVolumeController, 1, ("persistentvolume-binder-controller",)),
    ControllerDescriptor(VolumeProtectionController, 1, ("pvc-protection", "pv-protection")),
    ControllerDescriptor(
        HorizontalPodAutoscalerController,
        2,
        ("horizontalpodautoscaling", "horizontal-pod-autoscaler-controller"),
    ),
    ControllerDescriptor(CSRApprovingController, 1),
    ControllerDescriptor(CSRSigningController, 1),
    ControllerDescriptor(BootstrapSigner, 1),
    ControllerDescriptor(TokenCleaner, 1),
)
CONTROLLERS = {d.name: d for d in DESCRIPTORS}
ALIASES = {alias: d.name for d in DESCRIPTORS for alias in d.aliases}


def select_controllers(spec: str) -> list[str]:
    """`--controllers`: a comma list where `*` means all, `name` enables one and `-name` disables one."""
    enabled: list[str] = []
    disabled: set[str] = set()
    for raw in (p.strip() for p in spec.split(",")):
        if not raw:
            continue
        if raw == "*":
            enabled += [n for n in CONTROLLERS if n not in enabled]
            continue
        negate = raw.startswith("-")
        name = ALIASES.get(raw.lstrip("-"), raw.lstrip("-"))
        if name not in CONTROLLERS:
            raise ValueError(f"unknown controller {name!r} (known: {', '.join(CONTROLLERS)})")
        if negate:
            disabled.add(name)
        elif name not in enabled:
            enabled.append(name)
    return [n for n in enabled if n not in disabled]


STALL_AFTER = 300.0  # seconds without progress on a work queue before /healthz fails


class LeadershipLostError(Exception):
    """This manager was leader and is not any more."""


class ControllerManager:
    def __init__(
        self, client: Client, options: Options, controllers: list[str], identity: str | None = None
    ) -> None:
        self.client = client
        self.options = options
        self.names = controllers
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"
        self.controllers: list[Controller] = []
        self.leading = False
        self.synced = False
        self.factory: InformerFactory | None = None

    async def run_controllers(self) -> None:
        """Build every controller, sync the caches, run them until cancelled; clean up on the way out."""
        factory = InformerFactory(self.client)
        recorder = EventRecorder(self.client, COMPONENT)
        ctx = Context(self.client, factory, recorder, self.options)
        self.controllers = [CONTROLLERS[name].constructor(ctx) for name in self.names]
        self.factory = factory
        self.leading = True
        try:
            factory.start()
            await factory.wait_synced()
            self.synced = True
            log.info("caches synced", extra={"controllers": self.names})
            async with asyncio.TaskGroup() as tg:
                for c in self.controllers:
                    workers = self.options.workers.get(c.name) or CONTROLLERS[c.name].workers
                    tg.create_task(c.run(workers), name=f"controller-{c.name}")
        finally:
            self.leading = self.synced = False
            await factory.stop()
            await recorder.aclose()

    async def run(
        self,
        *,
        leader_elect: bool,
        lease_duration: float = 15,
        renew_deadline: float = 10,
        retry_period: float = 2,
    ) -> None:
        if not leader_elect:
            await self.run_controllers()
            return
        elector = LeaderElector(
            self.client,
            LEASE_NAMESPACE,
            LEASE_NAME,
            self.identity,
            lease_duration=lease_duration,
            renew_deadline=renew_deadline,
            retry_period=retry_period,
        )
        log.info(
            "waiting for leadership",
            extra={"identity": self.identity, "lease": f"{LEASE_NAMESPACE}/{LEASE_NAME}"},
        )
        await elector.run(self.run_controllers)
        raise LeadershipLostError(f"{self.identity} lost the lease {LEASE_NAMESPACE}/{LEASE_NAME}")

    def healthy(self) -> bool:
        """/healthz: the caches synced once this manager leads, and no controller's queue stuck (a key waiting or
        in work for STALL_AFTER seconds: its workers hang), and every informer running. A stand-by manager is healthy."""
        if self.leading and not self.synced:
            return False
        if self.leading and self.factory is not None and not self.factory.running():
            log.warning("an informer has stopped")
            return False
        stuck = [c.name for c in self.controllers if c.queue.stalled_for() > STALL_AFTER]
        if stuck:
            log.warning("work queues stalled", extra={"controllers": stuck, "limit_seconds": STALL_AFTER})
        return not stuck
