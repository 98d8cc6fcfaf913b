"""One pod's reconciliation: make Docker match the pod's spec, then report what Docker shows as its status.

`PodSyncer.sync(uid)` is level-based: it reads the pod (from the informer's latest copy) and the pod's containers
(from Docker, by label) and acts on the difference, so the same call serves a new pod, a crashed container, a
restarted kubelet re-adopting running containers, a deletion and an orphan. The pod workers guarantee that it
never runs twice at once for one pod. It returns DONE when the pod is gone, else the seconds after which it
wants to run again (a back-off ending), or None.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_conflict, is_not_found
from apimachinery.writerpool import WriterPool
from kubelet.api import PODS
from kubelet.backoff import CrashLoopBackoff
from kubelet.claims import ClaimVolumes
from kubelet.config import KubeletConfig
from kubelet.images import ImageManager
from kubelet.metrics import KubeletMetrics
from kubelet.network.pod_network import PodNetwork
from kubelet.pod_actions import PodActions, Start, by_name, compute_pod_actions, latest_first, restart_policy
from kubelet.pod_start import EventFn, PodStarter, SyncPass, will_run
from kubelet.pod_status_writer import PodStatusWriter
from kubelet.probes import ProbeManager
from kubelet.runtime import spec
from kubelet.runtime.docker import LABEL_GRACE, ContainerInfo, DockerRuntime, RuntimeFailure
from kubelet.service_env import MasterServiceEnv
from kubelet.trace import mark
from kubelet.volumes import limits
from kubelet.volumes.manager import ApiVolumes, SetUpFailure

log = logging.getLogger("kubelet.sync")

DONE = -1.0


def _sandbox_of(infos: list[ContainerInfo]) -> ContainerInfo | None:
    """The pod's current sandbox when it runs."""
    sandboxes = latest_first([i for i in infos if i.is_sandbox])
    return sandboxes[0] if sandboxes and sandboxes[0].running else None


class PodSyncer(PodStarter, PodStatusWriter):
    def __init__(
        self,
        config: KubeletConfig,
        client: Client,
        runtime: DockerRuntime,
        network: PodNetwork,
        probes: ProbeManager,
        images: ImageManager,
        backoff: CrashLoopBackoff,
        metrics: KubeletMetrics,
        event: EventFn,
        pods: dict[str, dict[str, Any]],
        host_ip: Callable[[], str],
        allocatable: Callable[[], dict[str, str]] = dict,
        writers: WriterPool | None = None,
        pod_starting: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self.config = config
        self.client = client
        self.writers = writers or WriterPool(client, 4)  # the status writes
        self.pod_starting = pod_starting  # around the sync of a pod with no container (kubelet/event_hold.py)
        self.runtime = runtime
        self.network = network
        self.probes = probes
        self.images = images
        self.backoff = backoff
        self.metrics = metrics
        self.event = event
        self.pods = pods  # uid -> latest pod from the informer (shared, read-only here)
        self.host_ip = host_ip
        self.pod_ips: dict[str, str] = {}
        self.last_status: dict[str, dict[str, Any]] = {}
        self.claims = ClaimVolumes(client, config.root_dir, config.local_root, config.node_name)
        self.allocatable = allocatable
        self.volumes = ApiVolumes(client, config.root_dir, allocatable, writers=self.writers)
        # uid -> the API volumes that could not be written at the pod's last sync
        self.volume_failures: dict[str, list[SetUpFailure]] = {}
        self.service_env = MasterServiceEnv(client)
        self.start_observed: set[str] = set()
        self.no_containers: set[str] = (
            set()
        )  # uids of new pods known to have no container yet (before a sync)
        self.evictions: dict[str, str] = {}  # uid -> why the pod was evicted

    # -- entry point -------------------------------------------------------------------------------------------

    async def sync(self, uid: str) -> float | None:
        pod = self.pods.get(uid)
        if pod is not None:
            mark(pod, "sync")
        if uid in self.no_containers:  # its first sync: no need to ask Docker
            self.no_containers.discard(uid)
            infos = []
        else:
            infos = await self.runtime.list_containers(uid)
        if pod is None:
            await self._kill_all(None, infos, self._label_grace(infos))
            await self._cleanup(uid, infos)
            return DONE
        problem = spec.pod_problem(pod)
        if problem is not None:
            log.warning("pod %s/%s not run: %s", pod["metadata"].get("namespace"), pod["metadata"].get("name"),
                        problem)  # fmt: skip
            self.event(pod, "Warning", "FailedValidation", f"Error: the kubelet refused the pod: {problem}")
            return None
        if pod["metadata"].get("deletionTimestamp"):
            md = pod["metadata"]
            grace = md.get("deletionGracePeriodSeconds")
            if grace is None:
                grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
            await self._kill_all(pod, infos, float(grace or 0))
            try:
                await self.client.delete(
                    PODS, md["name"], md.get("namespace"), grace_period_seconds=0, preconditions={"uid": uid}
                )
            except StatusError as exc:
                if not (is_not_found(exc) or is_conflict(exc)):  # gone, or another pod under the name now
                    raise
            return None  # the DELETED event brings us back with pod None
        if uid in self.evictions:
            await self._evict(pod, infos, self.evictions[uid])
            return None
        if infos:
            return await self._sync_running(pod, infos)
        with self.pod_starting():
            return await self._sync_running(pod, infos)

    # -- eviction ----------------------------------------------------------------------------------------------

    async def check_limits(self) -> list[str]:
        """Evict the running pods whose emptyDir outgrew its sizeLimit (kubelet.volumes.limits); their uids."""
        evicted = []
        for uid, pod in list(self.pods.items()):
            if uid in self.evictions or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if pod["metadata"].get("deletionTimestamp") or spec.pod_problem(pod) is not None:
                continue
            message = await asyncio.to_thread(limits.exceeded, self.config.root_dir, pod)
            if message is not None:
                log.warning("evicting pod %s/%s: %s", pod["metadata"].get("namespace"), pod["metadata"]["name"],
                            message)  # fmt: skip
                self.evictions[uid] = message
                self.event(pod, "Warning", "Evicted", message)
                evicted.append(uid)
        return evicted

    async def _evict(self, pod: dict[str, Any], infos: list[ContainerInfo], message: str) -> None:
        """As the kubelet's eviction manager: kill the pod's containers at once, then phase Failed, Evicted."""
        await self._kill_all(pod, infos, 0)
        observed = by_name(await self.runtime.list_containers(pod["metadata"]["uid"]))
        init_views, app_views, init_failed = self._views(pod, observed, {})
        evicted = {"phase": "Failed", "reason": "Evicted", "message": message}
        await self._write_status(pod, init_views, app_views, init_failed, evicted)

    # -- a live pod --------------------------------------------------------------------------------------------

    async def _sync_running(self, pod: dict[str, Any], infos: list[ContainerInfo]) -> float | None:
        uid = pod["metadata"]["uid"]
        run = SyncPass()
        init_views, app_views, init_failed = self._views(pod, by_name(infos), run.waiting)
        if self._terminal(pod, restart_policy(pod), init_views, app_views, init_failed):
            await self._stop_sandbox(latest_first([i for i in infos if i.is_sandbox]))
            await self._write_status(pod, init_views, app_views, init_failed)
            return None
        actions = self._actions(pod, infos)
        pod_ip = self.pod_ips.get(uid)
        wire = actions.create_sandbox
        fresh = self._fresh_starts(pod) if actions.create_sandbox and not infos else None
        if fresh is not None:
            mark(pod, "listed")
            sandbox = await self._start_fresh_pod(pod, fresh, self._set_up_volumes(pod, run), run)
            if sandbox is None:
                return 2.0
            infos, actions, wire = [sandbox], PodActions(), False  # its containers were created and started
            pod_ip = self.pod_ips.get(uid)
        elif actions.create_sandbox:
            sandbox = await self._sandbox_beside_volumes(pod, infos, actions, run)
            if sandbox is None:
                return 2.0
            # A first sandbox is all the pod has: no need to ask Docker again.
            infos = [sandbox] if not infos else await self.runtime.list_containers(uid)
            actions = self._actions(pod, infos)
            pod_ip = None  # its network is set up with its containers' creation (_perform)
        else:
            await self._set_up_volumes(pod, run)
            if pod_ip is None and (sandbox := _sandbox_of(infos)) is not None:
                pod_ip = self.pod_ips[uid] = await self.network.recover_ip(sandbox) or ""
        killed = bool(actions.kill)
        if killed:
            for info, why in actions.kill:
                self.event(pod, "Normal", "Killing", why)
                await self.runtime.stop(info.id, self._grace(pod))
            infos = await self.runtime.list_containers(uid)
            actions = self._actions(pod, infos)  # the killed containers have exited: restart them
        changed = await self._perform(pod, actions, _sandbox_of(infos), pod_ip, run, wire) or killed
        changed = changed or bool(run.touched)
        if run.sandbox_failed:
            return 2.0
        pod_ip = self.pod_ips.get(uid)

        observed = by_name(await self._reinspected(infos, run.touched)) if changed else by_name(infos)
        if changed:
            await self._gc_instances(observed)
        init_views, app_views, init_failed = self._views(pod, observed, run.waiting)
        running = {
            v.spec["name"]: (v.current.id, v.current.started_epoch)
            for v in app_views
            if v.current is not None and v.current.running
        }
        self.probes.sync(pod, running, pod_ip or "")
        status = await self._write_status(pod, init_views, app_views, init_failed)
        mark(pod, "status written")
        self._observe_start(pod, status, len(running))
        return run.requeue

    def _fresh_starts(self, pod: dict[str, Any]) -> list[Start] | None:
        """The containers a pod with none yet starts in its first sandbox, when they may all be created before the
        pod has its IP (kubelet.pod_start._start_fresh_pod); else None."""
        actions = self._actions(pod, [will_run("")])
        return actions.start if self._create_before_wired(actions) else None

    async def _sandbox_beside_volumes(
        self, pod: dict[str, Any], infos: list[ContainerInfo], actions: PodActions, run: SyncPass
    ) -> ContainerInfo | None:
        """A new sandbox, made while the API volumes are written: the pause container needs none of them, the
        containers (which wait for both) all of them. None when the sandbox failed."""
        volumes, sandbox = await asyncio.gather(
            self._set_up_volumes(pod, run),
            self._recreate_sandbox(pod, infos, actions),
            return_exceptions=True,
        )
        for result in (volumes, sandbox):
            if isinstance(result, BaseException):
                raise result
        assert not isinstance(sandbox, BaseException)
        return sandbox

    async def _reinspected(self, infos: list[ContainerInfo], touched: list[str]) -> list[ContainerInfo]:
        """`infos` with the containers this sync created or started read again (one inspect each instead of
        listing and inspecting all of the pod's): nothing else of the pod changed by this sync's hand. One that
        is gone already is left out; its `destroy` event brings the worker back."""
        fresh = await asyncio.gather(*(self.runtime.inspect(cid) for cid in touched))
        kept = [i for i in infos if i.id not in touched]
        return kept + [i for i in fresh if i is not None]

    def _actions(self, pod: dict[str, Any], infos: list[ContainerInfo]) -> PodActions:
        uid = pod["metadata"]["uid"]
        failed_liveness = {}
        for info in infos:
            if info.running and not info.is_sandbox and (why := self.probes.must_kill(info.id)):
                failed_liveness[info.id] = why
        return compute_pod_actions(
            pod,
            infos,
            backoff_remaining=lambda name, since: self.backoff.remaining((uid, name), since),
            liveness_failures=failed_liveness,
        )

    async def _set_up_volumes(self, pod: dict[str, Any], run: SyncPass) -> None:
        """The API volumes are written before any container starts and again on every sync (a changed ConfigMap
        reaches the files); while one fails, no container starts (running ones carry on)."""
        failures = self.volume_failures[pod["metadata"]["uid"]] = await self.volumes.set_up(pod)
        for failure in failures:
            log.warning("pod %s: %s", pod["metadata"].get("name"), failure.message())
            self.event(pod, "Warning", "FailedMount", failure.message())
        if failures:
            run.wake_in(2.0)

    async def _recreate_sandbox(
        self, pod: dict[str, Any], infos: list[ContainerInfo], actions: PodActions
    ) -> ContainerInfo | None:
        """A new sandbox for the pod (its old one, if any, stopped with everything in it). None when it failed."""
        if actions.sandbox_attempt > 0:
            # The network namespace is gone: everything in it must start again in a new sandbox.
            self.event(
                pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created."
            )
            await self._kill_all(pod, actions.kill_for_sandbox, 0)
            await self._stop_sandbox(latest_first([i for i in infos if i.is_sandbox]))
        self.pod_ips.pop(pod["metadata"]["uid"], None)  # the new sandbox gets its own when it is wired
        try:
            return await self._create_sandbox(pod, actions.sandbox_attempt)
        except Exception as exc:
            self._sandbox_failed(pod, exc)
            return None

    async def _perform(
        self,
        pod: dict[str, Any],
        actions: PodActions,
        sandbox: ContainerInfo | None,
        pod_ip: str | None,
        run: SyncPass,
        wire: bool = False,
    ) -> bool:
        """Carry out the starts and back-offs of `actions`; True when a container was created or started. With
        `wire`, the sandbox is new and its network is set up here too."""
        uid = pod["metadata"]["uid"]
        for name, remaining in actions.back_off.items():
            self._crashloop(pod, name, run.waiting)
            run.wake_in(remaining)
        changed = False
        for info in actions.resume:
            run.touched.append(info.id)
            await self.runtime.start(info.id)
            changed = True
        if sandbox is None:  # it died since it was created: the next sync makes a new one
            return changed
        for start in actions.start:
            if start.restart:
                self.backoff.next((uid, start.spec["name"]))
        if wire and not self._create_before_wired(actions):
            pod_ip = await self._wired(pod, sandbox, run)
            if pod_ip is None:
                return changed
            wire = False
        if wire:
            return await self._start_beside_wiring(pod, sandbox, actions.start, run) or changed
        ready = await self._ready(pod, actions.start, sandbox, pod_ip, run)
        started = await asyncio.gather(
            *(self._create_and_start(pod, name, args, run) for name, args in ready)
        )
        return changed or any(started)

    # -- pieces ------------------------------------------------------------------------------------------------

    def _crashloop(self, pod: dict[str, Any], name: str, waiting: dict[str, tuple[str, str]]) -> None:
        delay = self.backoff.delay((pod["metadata"]["uid"], name))
        md = pod["metadata"]
        message = (
            f"back-off {delay:g}s restarting failed container={name} "
            f"pod={md['name']}_{md.get('namespace', 'default')}({md['uid']})"
        )
        waiting[name] = ("CrashLoopBackOff", message)
        self.event(pod, "Warning", "BackOff", "Back-off restarting failed container " + name)

    async def _gc_instances(self, by_name: dict[str, list[ContainerInfo]]) -> None:
        """Keep the latest two instances of each container (the current one and the one `--previous` shows)."""
        old = [i for instances in by_name.values() for i in instances[2:] if i.exited]
        await asyncio.gather(*(self.runtime.remove(i.id) for i in old))

    @staticmethod
    def _grace(pod: dict[str, Any]) -> float:
        grace = pod.get("spec", {}).get("terminationGracePeriodSeconds")
        return float(30 if grace is None else grace)

    @staticmethod
    def _label_grace(infos: list[ContainerInfo]) -> float:
        for i in infos:
            try:
                return float(i.labels.get(LABEL_GRACE, "30"))
            except ValueError:
                continue
        return 30.0

    async def _kill_all(self, pod: dict[str, Any] | None, infos: list[ContainerInfo], grace: float) -> None:
        """Stop the app containers (SIGTERM, `grace` seconds, SIGKILL) in parallel, then the sandbox and its network."""
        running = [i for i in infos if i.running and not i.is_sandbox]
        if pod is not None:
            for i in running:
                self.event(pod, "Normal", "Killing", f"Stopping container {i.container_name}")
        await asyncio.gather(*(self.runtime.stop(i.id, grace) for i in running))
        await self._stop_sandbox([i for i in infos if i.is_sandbox])

    async def _stop_sandbox(self, sandboxes: list[ContainerInfo]) -> None:
        for sb in sandboxes:
            if sb.running:
                try:
                    await self.network.teardown(sb.id, sb.pid)
                except (
                    Exception
                ) as exc:  # teardown must not keep the pod alive; plugins clean up on the next DEL
                    log.warning("network teardown of %s failed: %s", sb.id[:12], exc)
                await self.runtime.kill(sb.id)
            elif sb.id in self.network_cached_ids():
                try:
                    await self.network.teardown(sb.id, 0)
                except Exception as exc:
                    log.warning("network teardown of %s failed: %s", sb.id[:12], exc)

    def network_cached_ids(self) -> list[str]:
        invoker = getattr(self.network, "invoker", None)
        return invoker.cached_ids() if invoker is not None else []

    async def _cleanup(self, uid: str, infos: list[ContainerInfo]) -> None:
        await asyncio.gather(*(self.runtime.remove(i.id) for i in infos))
        self.probes.forget_pod(uid)
        self.backoff.forget_prefix(uid)
        self.pod_ips.pop(uid, None)
        self.last_status.pop(uid, None)
        self.start_observed.discard(uid)
        self.evictions.pop(uid, None)
        await self.volumes.tear_down(uid)  # its tmpfs mounts first: rmtree must not stop at a mount point
        self.volume_failures.pop(uid, None)
        if spec.valid_uid(uid):  # a uid is a directory name here; never one that could name ".."
            shutil.rmtree(self.config.root_dir / "pods" / uid, ignore_errors=True)
            try:
                await self.runtime.remove_pod_volumes(uid)  # emptyDir medium Memory
            except RuntimeFailure as exc:
                log.warning("volumes of pod %s not removed: %s", uid, exc)
