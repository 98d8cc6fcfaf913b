"""The scheduler: informers feed the queue and the cache; one loop schedules a pod at a time and binds async.

Flow per pod: `pop` from the queue -> filter and score over the cache (pure, no awaits, so the cache cannot
change under a decision) -> on success assume the pod on the node and fire the bind as a task; on failure
record FailedScheduling, set PodScheduled=False/Unschedulable and park the pod until the cluster changes.
A failed bind forgets the assumption and requeues the pod with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_conflict, is_not_found
from apimachinery.events import NORMAL, WARNING, EventRecorder
from apimachinery.informer import Informer
from apimachinery.resources import must_resource
from apimachinery.timefmt import now_rfc3339
from apimachinery.writerpool import WriterPool
from scheduler.algorithm import ScheduleResult, schedule
from scheduler.cache import SchedulerCache, is_terminal
from scheduler.metrics import SchedulerMetrics
from scheduler.nodeinfo import PodInfo, pod_key
from scheduler.queue import QueueClosed, QueuedPod, SchedulingQueue
from scheduler.scores import ScoreContext
from scheduler.volumes import VolumeBinding

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "default-scheduler"

# Event reasons
SCHEDULED = "Scheduled"
FAILED_SCHEDULING = "FailedScheduling"


PODS = must_resource("", "pods")
NODES = must_resource("", "nodes")
SERVICES = must_resource("", "services")


def is_assigned(pod: dict[str, Any]) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def node_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a node update can make a pod fit (heartbeat-only status updates cannot)."""
    old_status, new_status = old.get("status") or {}, new.get("status") or {}

    def conditions(status: dict[str, Any]) -> list[tuple[Any, Any]]:
        return sorted((c.get("type"), c.get("status")) for c in status.get("conditions") or [])

    return (
        old.get("spec") != new.get("spec")
        or (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels")
        or old_status.get("allocatable") != new_status.get("allocatable")
        or old_status.get("capacity") != new_status.get("capacity")
        or conditions(old_status) != conditions(new_status)
    )


def binding(pod: dict[str, Any], node: str) -> dict[str, Any]:
    meta = pod["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace") or "default",
            "uid": meta.get("uid"),
        },
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


def pod_for_event(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod with kind/apiVersion set: events are found by involvedObject.kind (kubectl describe)."""
    if pod.get("kind") and pod.get("apiVersion"):
        return pod
    return {**pod, "kind": "Pod", "apiVersion": "v1"}


def unschedulable_condition(message: str) -> dict[str, Any]:
    return {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": message,
        "lastProbeTime": None,
        "lastTransitionTime": now_rfc3339(),
    }


class Scheduler:
    def __init__(
        self,
        client: Client,
        *,
        name: str = DEFAULT_SCHEDULER_NAME,
        metrics: SchedulerMetrics | None = None,
        recorder: EventRecorder | None = None,
        rng: random.Random | None = None,
        max_inflight_writes: int = 8,
        queue: SchedulingQueue | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self.metrics = metrics or SchedulerMetrics()
        self.recorder = recorder or EventRecorder(client, name)
        self.rng = rng or random.Random()
        self.queue = queue or SchedulingQueue()
        self.cache = SchedulerCache()
        self.pods = Informer(client, PODS)
        self.nodes = Informer(client, NODES)
        self.services = Informer(client, SERVICES)
        self.volumes = VolumeBinding(client)
        for informer in self.volumes.informers:
            informer.add_handler(self._on_volume_change, lambda _old, new: self._on_volume_change(new))
        self._tasks: set[asyncio.Task[Any]] = set()
        # Binds run as tasks so a slow apiserver does not stall decisions, but only so many at once: the
        # apiserver is one process: each write borrows the client from this pool, `max_inflight_writes` at once.
        self._writers = WriterPool(client, max_inflight_writes)
        self.metrics.watch_queue(self.queue.lengths)
        self.pods.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self.nodes.add_handler(self._on_node_add, self._on_node_update, self._on_node_delete)

    # --- informer handlers: keep the cache and the queue current ---------------------------------------------

    def _responsible(self, pod: dict[str, Any]) -> bool:
        spec = pod.get("spec") or {}
        meta = pod.get("metadata") or {}
        return (
            (spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME) == self.name
            and not meta.get("deletionTimestamp")
            and not is_terminal(pod)
        )

    def _on_pod_add(self, pod: dict[str, Any]) -> None:
        if is_assigned(pod):
            self.cache.set_pod(pod)
        elif self._responsible(pod) and not self.cache.is_assumed(pod_key(pod)):
            self.queue.add(pod)

    def _on_pod_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        key = pod_key(new)
        if is_assigned(new):
            if (
                is_assigned(old)
                and old.get("spec") == new.get("spec")
                and is_terminal(old) == is_terminal(new)
                and (old.get("metadata") or {}).get("labels") == (new.get("metadata") or {}).get("labels")
            ):
                return  # a status update of a running pod (the common case) changes nothing here
            self.queue.delete(key)
            self.cache.set_pod(new)
            if is_terminal(new) and not is_terminal(old):
                self.queue.move_all_to_active_or_backoff("AssignedPodTerminated")
        elif self._responsible(new):
            if not self.cache.is_assumed(key):  # its bind is in flight; the informer will confirm it
                self.queue.update(new)
        else:
            self.queue.delete(key)

    def _on_pod_delete(self, pod: dict[str, Any]) -> None:
        key = pod_key(pod)
        self.queue.delete(key)
        if self.cache.pod_node(key) is not None:
            self.cache.remove_pod(key)
            self.queue.move_all_to_active_or_backoff("AssignedPodDelete")

    def _on_node_add(self, node: dict[str, Any]) -> None:
        self.cache.set_node(node)
        self.queue.move_all_to_active_or_backoff("NodeAdd")

    def _on_node_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.cache.set_node(new)
        if node_changed(old, new):
            self.queue.move_all_to_active_or_backoff("NodeUpdate")

    def _on_node_delete(self, node: dict[str, Any]) -> None:
        self.cache.remove_node(node["metadata"]["name"])

    def _on_volume_change(self, _obj: dict[str, Any]) -> None:
        """A claim bound, a volume or class appeared: pods waiting on volumes may fit now."""
        self.queue.move_all_to_active_or_backoff("VolumeChange")

    @property
    def _informers(self) -> tuple[Informer, ...]:
        return (self.nodes, self.services, self.pods, *self.volumes.informers)

    # --- running -------------------------------------------------------------------------------------------

    async def run_informers(self) -> None:
        """List+watch pods, nodes and services until cancelled."""
        async with asyncio.TaskGroup() as group:
            for informer in self._informers:
                group.create_task(informer.run(), name=f"informer-{informer.res.resource}")

    def synced(self) -> bool:
        return all(informer.has_synced for informer in self._informers)

    async def wait_synced(self, timeout: float | None = None) -> None:
        for informer in self._informers:
            await informer.wait_synced(timeout)

    async def run(self) -> None:
        """Schedule pods one at a time until cancelled (informers must be running)."""
        await self.wait_synced()
        log.info("scheduling", extra={"scheduler": self.name, **self.cache.counts()})
        try:
            while True:
                try:
                    queued = await self.queue.pop()
                except QueueClosed:
                    return
                try:
                    self.schedule_one(queued)
                except Exception:
                    log.exception("scheduling attempt failed", extra={"pod": queued.key})
                    self.metrics.attempts.labels(result="error", profile=self.name).inc()
                    self.queue.add_backoff(queued, "internal error")
                await asyncio.sleep(0)  # let informer events and bind results in between decisions
        finally:
            await self.drain()

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait a little for binds and status writes in flight, then cancel what is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one pod -------------------------------------------------------------------------------------------

    def _score_context(self, pod: PodInfo) -> ScoreContext:
        selectors = []
        for service in self.services.store.by_index("namespace", pod.namespace):
            selector = (service.get("spec") or {}).get("selector") or {}
            if selector and all(pod.labels.get(k) == v for k, v in selector.items()):
                selectors.append(selector)
        return ScoreContext(service_selectors=selectors)

    def schedule_one(self, queued: QueuedPod) -> None:
        key = queued.key
        latest = self.pods.store.get(key)
        if (
            latest is None
            or is_assigned(latest)
            or not self._responsible(latest)
            or self.cache.is_assumed(key)
        ):
            self.queue.done(key)  # deleted, bound or no longer ours since it was queued
            return
        info = PodInfo.of(latest) if latest is not queued.pod else queued.info
        started = time.perf_counter()
        unresolvable, volume_filter = self.volumes.filter_for(latest)
        if unresolvable is not None:
            result = ScheduleResult(
                None, f"0/{len(self.cache.node_infos())} nodes are available: {unresolvable}."
            )
        else:
            result = schedule(
                info, self.cache.node_infos(), self._score_context(info), self.rng, volume_filter
            )
        self.metrics.algorithm_latency.observe(time.perf_counter() - started)
        if result.node is None:
            self.metrics.attempts.labels(result="unschedulable", profile=self.name).inc()
            self.metrics.attempt_latency.labels(result="unschedulable", profile=self.name).observe(
                time.perf_counter() - started
            )
            log.info("unschedulable", extra={"pod": key, "reason": result.message})
            self.queue.add_unschedulable(queued, result.message)
            self.recorder.event(pod_for_event(latest), WARNING, FAILED_SCHEDULING, result.message)
            self._spawn(self._set_unschedulable(key, result.message), f"status-{key}")
            return
        self.cache.assume(info, result.node)
        self.queue.done(key)
        self._spawn(self._bind(queued, info, result.node, started), f"bind-{key}")

    async def _bind(self, queued: QueuedPod, info: PodInfo, node: str, attempt_started: float) -> None:
        key = info.key
        try:
            async with self._writers.borrow() as writer:
                started = time.perf_counter()
                try:
                    await self.volumes.select_node(info.pod, node)
                except (
                    StatusError
                ) as exc:  # a claim gone or changed: decide again later, not "bound meanwhile"
                    raise ConnectionError(
                        f"selecting node {node} for the pod's claims: {exc.message}"
                    ) from exc
                await writer.create(PODS, binding(info.pod, node), info.namespace, "binding")
        except (StatusError, ConnectionError, TimeoutError) as exc:
            self.cache.forget(key)
            self.metrics.attempts.labels(result="error", profile=self.name).inc()
            if isinstance(exc, StatusError) and (is_not_found(exc) or is_conflict(exc)):
                # Gone, or bound meanwhile (e.g. by a previous leader): the informer tells the rest.
                log.info("bind not needed", extra={"pod": key, "node": node, "error": exc.message})
                return
            log.warning("bind failed", extra={"pod": key, "node": node, "error": repr(exc)})
            self.queue.add_backoff(queued, f"binding rejected: {exc}")
            self.queue.move_all_to_active_or_backoff("AssumedPodForgotten")
            return
        self.metrics.binding_latency.observe(time.perf_counter() - started)
        self.metrics.attempts.labels(result="scheduled", profile=self.name).inc()
        self.metrics.attempt_latency.labels(result="scheduled", profile=self.name).observe(
            time.perf_counter() - attempt_started
        )
        self.metrics.sli_latency.labels(attempts=str(max(1, queued.attempts))).observe(
            max(0.0, time.monotonic() - queued.initial_timestamp)
        )
        namespace = info.namespace
        self.recorder.event(
            pod_for_event(info.pod),
            NORMAL,
            SCHEDULED,
            f"Successfully assigned {namespace}/{info.pod['metadata']['name']} to {node}",
        )

    async def _set_unschedulable(self, key: str, message: str) -> None:
        """PodScheduled=False (Unschedulable) with the summary, unless the pod already says exactly that."""
        pod = self.pods.store.get(key)
        if pod is None or is_assigned(pod):
            return
        conditions = list((pod.get("status") or {}).get("conditions") or [])
        current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if current and (current.get("status"), current.get("reason"), current.get("message")) == (
            "False",
            "Unschedulable",
            message,
        ):
            return
        condition = unschedulable_condition(message)
        if current and current.get("status") == "False":
            condition["lastTransitionTime"] = (
                current.get("lastTransitionTime") or condition["lastTransitionTime"]
            )
        conditions = [c for c in conditions if c.get("type") != "PodScheduled"] + [condition]
        meta = pod["metadata"]
        async with self._writers.borrow() as writer:
            with contextlib.suppress(StatusError, ConnectionError, TimeoutError):
                # Best effort: the next failed attempt writes it again; a deleted pod needs no condition.
                await writer.patch(
                    PODS,
                    meta["name"],
                    {"status": {"conditions": conditions}},
                    meta.get("namespace"),
                    patch_type="merge",
                    subresource="status",
                )
