"""The kubelet: wires the node agent, the pod informer, the pod workers, Docker and the pod network.

Start-up order matters: register the Node (and learn its podCIDR), prepare the pod network (guard route first),
serve the HTTP API, then start the pod informer. Docker container events and a periodic sweep wake pod workers, so
a container that dies is noticed at once and containers whose pod no longer exists are removed.

Stopping the kubelet leaves pods running: a restarted kubelet re-adopts them by their labels.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from apimachinery import hostcheck
from apimachinery.backoff import Backoff
from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError
from apimachinery.events import EventRecorder
from apimachinery.informer import Informer
from apimachinery.localimages import PAUSE_IMAGE, ensure_images
from apimachinery.tasks import cancel_and_wait
from apimachinery.tlsserve import server_ssl_context
from apimachinery.writerpool import WriterPool
from kubelet import children
from kubelet.api import NODES, PODS
from kubelet.auth import KubeletAuth
from kubelet.backoff import CrashLoopBackoff
from kubelet.config import KubeletConfig
from kubelet.event_hold import HeldEvents
from kubelet.images import ImageManager
from kubelet.metrics import KubeletMetrics
from kubelet.network import host
from kubelet.network.cni import find_bin_dir
from kubelet.network.pod_network import CniNetwork, DockerBridgeNetwork, PodNetwork
from kubelet.network.routes import desired_routes, own_pod_cidr_problem
from kubelet.node import NodeAgent, host_facts
from kubelet.pod_sync import PodSyncer
from kubelet.pod_workers import PodWorkers
from kubelet.probes import ProbeManager
from kubelet.runtime.docker import LABEL_POD_UID, WAKING_EVENTS, DockerRuntime
from kubelet.runtime.spec import valid_uid
from kubelet.server import build_app, make_server
from kubelet.stats.collector import StatsCollector
from kubelet.trace import mark

log = logging.getLogger("kubelet")

SWEEP_INTERVAL = 30.0
STATUS_WRITERS = 4  # pod status writes in flight
LOCAL_VOLUME_SWEEP_INTERVAL = 3.0


async def default_node_ip() -> str:
    """The source address of the default route (no packet is sent), else 127.0.0.1."""
    try:
        _, out = await host.run("ip", "-j", "route", "get", "1.1.1.1")
        routes = json.loads(out or "[]")
        if routes and routes[0].get("prefsrc"):
            return str(routes[0]["prefsrc"])
    except Exception as exc:  # no iproute2 or no default route: loopback still works on one machine
        log.warning("no default route address: %s", exc)
    return "127.0.0.1"


def _without_status(pod: dict[str, Any]) -> dict[str, Any]:
    md = {k: v for k, v in pod.get("metadata", {}).items() if k not in ("resourceVersion", "managedFields")}
    return {**{k: v for k, v in pod.items() if k != "status"}, "metadata": md}


def pod_dirs(root_dir: Path) -> set[str]:
    """The uids that have a directory under `<root>/pods`."""
    try:
        return {d.name for d in (root_dir / "pods").iterdir() if valid_uid(d.name) and d.is_dir()}
    except OSError:
        return set()


class Kubelet:
    def __init__(self, config: KubeletConfig, client: Client, runtime: DockerRuntime | None = None) -> None:
        self.config = config
        self.client = client
        self.metrics = KubeletMetrics()
        self.runtime = runtime or DockerRuntime(config.node_name, self.metrics)
        self.recorder = EventRecorder(client, "kubelet", host=config.node_name)
        self.held_events = HeldEvents(self.recorder)
        self.pods: dict[str, dict[str, Any]] = {}  # uid -> pod
        self._containers_at_start: set[str] | None = None  # the pod uids of the first sweep's containers
        self.backoff = CrashLoopBackoff(
            config.crashloop_backoff_initial, config.crashloop_backoff_max, config.crashloop_backoff_reset
        )
        self.image_backoff = CrashLoopBackoff(
            config.crashloop_backoff_initial, config.crashloop_backoff_max, config.crashloop_backoff_reset
        )
        self.probes = ProbeManager(self.runtime, self._wake, self._probe_failed)
        self.workers = PodWorkers(self._sync, config.resync_interval)
        self.node_ip = config.node_ip
        self.network: PodNetwork | None = None
        self.syncer: PodSyncer | None = None
        self.agent: NodeAgent | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = asyncio.Event()

    # -- events ------------------------------------------------------------------------------------------------

    def event(self, pod: dict[str, Any], type_: str, reason: str, message: str) -> None:
        ref = {"kind": "Pod", "apiVersion": "v1", "metadata": pod.get("metadata", {})}
        self.held_events.event(ref, type_, reason, message)

    def _probe_failed(self, pod: dict[str, Any], container: str, kind: str, message: str) -> None:
        self.event(pod, "Warning", "Unhealthy", f"{kind.capitalize()} probe failed: {message}")

    def _wake(self, uid: str) -> None:
        self.workers.update(uid)

    async def _sync(self, uid: str) -> float | None:
        assert self.syncer is not None
        return await self.syncer.sync(uid)

    # -- informer handlers (only record and enqueue) ------------------------------------------------------------

    def _on_pod(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        mark(pod, "watched")
        self.pods[uid] = pod
        at_start = self._containers_at_start
        if at_start is not None and uid not in at_start and uid not in self.workers.uids() and self.syncer:
            # New since the first sweep, which saw every container of this node: only its worker makes any.
            self.syncer.no_containers.add(uid)
        self.workers.update(uid)

    def _on_pod_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        uid = new["metadata"]["uid"]
        self.pods[uid] = new
        # The kubelet owns the status: an update that only changed it (mostly our own writes) needs no sync.
        if _without_status(old) != _without_status(new) or uid not in self.workers.uids():
            self.workers.update(uid)

    def _on_pod_delete(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        self.pods.pop(uid, None)
        self.workers.update(uid)

    def _on_node_change(self, *objs: dict[str, Any]) -> None:
        node = objs[-1]
        self._routes_dirty.set()
        if node["metadata"]["name"] == self.config.node_name:
            cidr = node.get("spec", {}).get("podCIDR")
            if cidr and not self.config.pod_cidr and self._own_cidr_ok(node, cidr):
                self.config.pod_cidr = cidr
                self._cidr_known.set()

    def _own_cidr_ok(self, node: dict[str, Any], cidr: Any) -> bool:
        """This node's podCIDR becomes a bridge, a CNI range and a masquerade rule: only one inside the cluster
        CIDR is used; another is reported and the kubelet keeps waiting for a good one."""
        problem = own_pod_cidr_problem(cidr, self.config.cluster_cidr)
        if problem is None:
            return True
        log.error("not using this node's podCIDR: %s", problem)
        self.recorder.event(node, "Warning", "InvalidPodCIDR", f"kubelet: not using the podCIDR: {problem}")
        return False

    def _on_node_delete(self, node: dict[str, Any]) -> None:
        self._routes_dirty.set()
        if node["metadata"]["name"] == self.config.node_name and self.agent is not None:
            self.agent.on_node_deleted()

    # -- run ---------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled; then stop the loops (pods keep running) and close the clients."""
        self._routes_dirty = asyncio.Event()
        self._cidr_known = asyncio.Event()
        children.install()
        try:
            await self._start()
            await asyncio.gather(*self._tasks)
        finally:
            await self.shutdown()

    async def _start(self) -> None:
        cfg = self.config
        version = await self.runtime.version()
        if cfg.pause_image == PAUSE_IMAGE:
            try:  # offline hosts cannot pull a pause image: build ours from busybox-static when it is missing
                await asyncio.to_thread(ensure_images)
            except Exception as exc:
                log.warning("could not build the local pause image %s: %s", PAUSE_IMAGE, exc)
        if not self.node_ip:
            self.node_ip = await default_node_ip()
        self.agent = NodeAgent(
            cfg, self.client, host_facts(str(version.get("Version", "unknown"))), self.node_ip
        )
        node = await self._register()
        if cfg.pod_cidr and own_pod_cidr_problem(cfg.pod_cidr, cfg.cluster_cidr):
            raise RuntimeError(f"--pod-cidr: {own_pod_cidr_problem(cfg.pod_cidr, cfg.cluster_cidr)}")
        cidr = node.get("spec", {}).get("podCIDR")
        if not cfg.pod_cidr and cidr and self._own_cidr_ok(node, cidr):
            cfg.pod_cidr = cidr
        if cfg.pod_cidr:
            self._cidr_known.set()
        nodes = Informer(self.client, NODES)
        nodes.add_handler(
            on_add=self._on_node_change, on_update=self._on_node_change, on_delete=self._on_node_delete
        )
        self._spawn(nodes.run(), "node-informer")
        self._spawn(self.agent.run(), "node-heartbeat")
        self._nodes = nodes
        if not self._cidr_known.is_set():
            log.info(
                "waiting for a podCIDR on node %s (pass --pod-cidr or run the node IPAM controller)",
                cfg.node_name,
            )
            await self._cidr_known.wait()
        self.network = await self._make_network()
        await self.network.prepare()
        self.syncer = PodSyncer(
            cfg, self.client, self.runtime, self.network, self.probes,
            ImageManager(self.runtime, self.image_backoff), self.backoff, self.metrics, self.event,
            self.pods, lambda: self.node_ip, self._allocatable,
            WriterPool(self.client, STATUS_WRITERS), self.held_events.pod_starting,
        )  # fmt: skip
        auth = KubeletAuth(self.client, cfg.node_name)
        self.stats = StatsCollector(self.runtime, cfg.node_name, cfg.root_dir, interval=cfg.stats_interval)
        if cfg.stats_interval > 0:
            self._spawn(self.stats.run(), "stats")
        app = build_app(
            self.runtime, self.metrics, lambda: list(self.pods.values()), lambda: True, auth,
            self.stats if cfg.stats_interval > 0 else None,
        )  # fmt: skip
        tls = server_ssl_context(cfg.tls_cert_file, cfg.tls_private_key_file, cfg.client_ca_file or None)
        self.server = make_server(app, cfg.address, cfg.port, tls)
        self._spawn(self.server.serve(), "https")
        pods = Informer(self.client, PODS, field_selector=f"spec.nodeName={cfg.node_name}")
        pods.add_handler(on_add=self._on_pod, on_update=self._on_pod_update, on_delete=self._on_pod_delete)
        self._spawn(pods.run(), "pod-informer")
        await pods.wait_synced()
        self._spawn(self._docker_events(), "docker-events")
        await self._sweep()  # re-adopt (wake workers for what runs) and remove orphans
        self._spawn(self._sweep_loop(), "sweep")
        self._spawn(self._local_volume_loop(), "local-volumes")
        self._spawn(self._eviction_loop(), "eviction")
        if self.network.mode == "cni":
            self._spawn(self._routes_loop(), "routes")
        self.ready.set()
        log.info("kubelet %s ready (network %s, pod CIDR %s, port %s)", cfg.node_name, self.network.mode,
                 cfg.pod_cidr, cfg.port)  # fmt: skip

    def _allocatable(self) -> dict[str, str]:
        """The node's allocatable resources (what an unset limit means to the downward API)."""
        node = (self.agent.node if self.agent is not None else None) or {}
        return {str(k): str(v) for k, v in ((node.get("status") or {}).get("allocatable") or {}).items()}

    async def _register(self) -> dict[str, Any]:
        """Register the Node, retrying while the apiserver is unreachable (it may start after us)."""
        assert self.agent is not None
        backoff = Backoff(initial=0.5, cap=10.0)
        while True:
            try:
                return await self.agent.register()
            except (ClientConnectionError, StatusError) as exc:
                if isinstance(exc, StatusError) and exc.code < 500 and exc.code != 429:
                    raise
                delay = backoff.next()
                log.warning("node registration failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    async def _make_network(self) -> PodNetwork:
        cfg = self.config
        bin_dir = find_bin_dir(cfg.cni_bin_dir or None) if cfg.network_mode != "docker-bridge" else None
        if bin_dir is None and cfg.network_mode == "cni":
            raise RuntimeError(f"CNI plugins not found in {cfg.cni_bin_dir or '/usr/lib/cni, /opt/cni/bin'}")
        if (
            bin_dir
            and cfg.network_mode == "auto"
            and not hostcheck.sysctl_settable(hostcheck.IP_FORWARD, "1")
        ):
            log.warning("the CNI bridge plugin needs net.ipv4.ip_forward=1, which is 0 and read-only here")
            bin_dir = None
        if bin_dir is None:
            return DockerBridgeNetwork(self.runtime, cfg.node_name, cfg.pod_cidr, cfg.cluster_cidr)
        return CniNetwork(
            cfg.node_name, cfg.pod_cidr, cfg.cluster_cidr, bin_dir, cfg.cni_conf_dir, cfg.root_dir
        )

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"kubelet-{name}"))

    async def _docker_events(self) -> None:
        """Docker's events of this node's containers as they come (`_on_docker_event`); the stream reconnects
        after an error (the engine restarted) a second later."""
        while True:
            try:
                async for event in self.runtime.events():
                    self._on_docker_event(event)
            except Exception as exc:
                log.debug("docker event stream ended: %s", exc)
            await asyncio.sleep(1.0)

    def _on_docker_event(self, event: dict[str, Any]) -> None:
        if event.get("status") in WAKING_EVENTS or event.get("Action") in ("die", "oom"):
            actor = event.get("Actor") or {}
            if event.get("status") == "start" and self.runtime.started_here(str(actor.get("ID") or "")):
                return  # the pod worker that started it has reported it; a second sync would only add load
            uid = (actor.get("Attributes") or {}).get(LABEL_POD_UID)
            if uid:
                self.workers.update(uid)

    async def _sweep(self) -> None:
        """Wake a worker for every pod uid that has containers here: known pods are re-adopted, unknown ones
        (orphans) are stopped and removed by their worker. Also refreshes the running gauges."""
        entries = await self.runtime.list_ids()
        uids = {(e.get("Labels") or {}).get(LABEL_POD_UID) for e in entries} - {None, ""}
        if self._containers_at_start is None:
            self._containers_at_start = {str(uid) for uid in uids}
        # A pod directory without a pod (deleted while this kubelet was down, containers gone): its worker removes
        # it, unmounting its tmpfs volumes first.
        for uid in uids | set(self.pods) | pod_dirs(self.config.root_dir):
            self.workers.update(str(uid))
        running = [e for e in entries if e.get("State") == "running"]
        self.metrics.running_pods.set(
            sum(1 for e in running if e["Labels"].get("io.kubelite.type") == "sandbox")
        )
        self.metrics.running_containers.set(
            sum(1 for e in running if e["Labels"].get("io.kubelite.type") == "container")
        )

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await self._sweep()
            except Exception as exc:  # Docker hiccup; the next sweep retries
                log.warning("sweep failed: %s", exc)

    async def _local_volume_loop(self) -> None:
        """Remove the directories of local volumes being deleted (kubelet/claims.py), every few seconds."""
        while True:
            await asyncio.sleep(LOCAL_VOLUME_SWEEP_INTERVAL)
            if self.syncer is not None:
                try:
                    await self.syncer.claims.sweep()
                except Exception as exc:  # the apiserver away: the next sweep retries
                    log.warning("local volume sweep failed: %s", exc)

    async def _eviction_loop(self) -> None:
        """Evict pods whose emptyDir outgrew its sizeLimit (kubelet/volumes/limits.py), every few seconds."""
        while True:
            await asyncio.sleep(self.config.eviction_monitoring_interval)
            if self.syncer is not None:
                try:
                    for uid in await self.syncer.check_limits():
                        self.workers.update(uid)
                except Exception as exc:  # a pod directory going away mid-walk; the next round retries
                    log.warning("emptyDir usage check failed: %s", exc)

    async def _routes_loop(self) -> None:
        """host-gw: route every other node's podCIDR via its InternalIP, as Nodes come and go; a Node whose
        podCIDR or address may not be routed (network.routes) is skipped with a log line and an Event."""
        reported: set[tuple[str, str, str]] = set()
        while True:
            await self._routes_dirty.wait()
            self._routes_dirty.clear()
            desired, rejected = desired_routes(
                self._nodes.store.list(),
                self.config.node_name,
                self.config.cluster_cidr,
                self.config.pod_cidr,
            )
            for r in rejected:
                if r.key not in reported:
                    reported.add(r.key)
                    log.warning("%s of node %s skipped: %s", r.what, r.node["metadata"].get("name"), r.why)
                    self.recorder.event(r.node, "Warning", "RouteRejected", f"kubelet {self.config.node_name} "
                                        f"did not install the {r.what}: {r.why}")  # fmt: skip
            try:
                await host.sync_routes(desired)
            except Exception as exc:
                log.warning("route sync failed: %s", exc)
                await asyncio.sleep(2.0)
                self._routes_dirty.set()

    async def shutdown(self) -> None:
        if getattr(self, "server", None) is not None:
            self.server.should_exit = True
        await self.workers.stop()
        await self.probes.stop()
        await cancel_and_wait(self._tasks)
        self.held_events.release()
        try:
            await self.recorder.flush(2.0)
        except TimeoutError:
            pass
        await self.recorder.aclose()
        await self.runtime.aclose()
