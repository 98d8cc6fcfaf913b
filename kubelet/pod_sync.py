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
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.types import Mount

from apimachinery.client import Client, ClientConnectionError
from apimachinery.dnsconfig import read_resolv_conf
from apimachinery.errors import StatusError, is_conflict, is_not_found
from apimachinery.timefmt import parse_time_or_none
from kubelet import pod_dns
from kubelet.api import PODS
from kubelet.backoff import CrashLoopBackoff
from kubelet.claims import ClaimError, ClaimVolumes
from kubelet.config import KubeletConfig
from kubelet.env import container_env
from kubelet.images import ImageManager
from kubelet.metrics import KubeletMetrics
from kubelet.network.pod_network import PodNetwork
from kubelet.pod_actions import PodActions, Start, by_name, compute_pod_actions, latest_first, restart_policy
from kubelet.probes import ProbeManager
from kubelet.runtime import spec
from kubelet.runtime.docker import LABEL_GRACE, ContainerInfo, DockerRuntime, ImageMissing, RuntimeFailure
from kubelet.runtime.mounts import MountError
from kubelet.service_env import MasterServiceEnv
from kubelet.status import ContainerView, now_rfc3339, pod_status, status_changed
from kubelet.volumes import limits, ownership
from kubelet.volumes.manager import ApiVolumes, SetUpFailure
from kubelet.volumes.sources import ConfigError

log = logging.getLogger("kubelet.sync")

DONE = -1.0

EventFn = Callable[[dict[str, Any], str, str, str], None]


def _epoch(ts: str | None) -> float:
    """Seconds since the epoch of an RFC 3339 UTC timestamp ("2026-01-01T00:00:00Z"); 0 for none."""
    parsed = parse_time_or_none(ts, naive_utc=True)
    return parsed.timestamp() if parsed else 0.0


def _sandbox_of(infos: list[ContainerInfo]) -> ContainerInfo | None:
    """The pod's current sandbox when it runs."""
    sandboxes = latest_first([i for i in infos if i.is_sandbox])
    return sandboxes[0] if sandboxes and sandboxes[0].running else None


@dataclass
class _SyncPass:
    """What one sync learns on its way: the containers' waiting reasons, and when it wants to run again."""

    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    requeue: float | None = None

    def wake_in(self, seconds: float) -> None:
        self.requeue = seconds if self.requeue is None else min(self.requeue, seconds)


class PodSyncer:
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
    ) -> None:
        self.config = config
        self.client = client
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
        self.volumes = ApiVolumes(client, config.root_dir, allocatable)
        # uid -> the API volumes that could not be written at the pod's last sync
        self.volume_failures: dict[str, list[SetUpFailure]] = {}
        self.service_env = MasterServiceEnv(client)
        self.start_observed: set[str] = set()
        self.evictions: dict[str, str] = {}  # uid -> why the pod was evicted

    # -- entry point -------------------------------------------------------------------------------------------

    async def sync(self, uid: str) -> float | None:
        pod = self.pods.get(uid)
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
        run = _SyncPass()
        init_views, app_views, init_failed = self._views(pod, by_name(infos), run.waiting)
        if self._terminal(pod, restart_policy(pod), init_views, app_views, init_failed):
            await self._stop_sandbox(latest_first([i for i in infos if i.is_sandbox]))
            await self._write_status(pod, init_views, app_views, init_failed)
            return None
        await self._set_up_volumes(pod, run)

        actions = self._actions(pod, infos)
        pod_ip = self.pod_ips.get(uid)
        if actions.create_sandbox:
            sandbox = await self._recreate_sandbox(pod, infos, actions)
            if sandbox is None:
                return 2.0
            # A first sandbox is all the pod has: no need to ask Docker again.
            infos = [sandbox] if not infos else await self.runtime.list_containers(uid)
            actions = self._actions(pod, infos)
            pod_ip = self.pod_ips.get(uid)
        elif pod_ip is None and (sandbox := _sandbox_of(infos)) is not None:
            pod_ip = self.pod_ips[uid] = await self.network.recover_ip(sandbox) or ""
        killed = bool(actions.kill)
        if killed:
            for info, why in actions.kill:
                self.event(pod, "Normal", "Killing", why)
                await self.runtime.stop(info.id, self._grace(pod))
            infos = await self.runtime.list_containers(uid)
            actions = self._actions(pod, infos)  # the killed containers have exited: restart them
        changed = await self._perform(pod, actions, _sandbox_of(infos), pod_ip, run) or killed

        observed = by_name(await self.runtime.list_containers(uid)) if changed else by_name(infos)
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
        self._observe_start(pod, status, len(running))
        return run.requeue

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

    async def _set_up_volumes(self, pod: dict[str, Any], run: _SyncPass) -> None:
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
        try:
            return await self._create_sandbox(pod, actions.sandbox_attempt)
        except Exception as exc:
            self.event(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}")
            log.warning("sandbox for %s failed: %s", pod["metadata"]["name"], exc)
            return None

    async def _perform(
        self,
        pod: dict[str, Any],
        actions: PodActions,
        sandbox: ContainerInfo | None,
        pod_ip: str | None,
        run: _SyncPass,
    ) -> bool:
        """Carry out the starts and back-offs of `actions`; True when a container was created or started."""
        uid = pod["metadata"]["uid"]
        for name, remaining in actions.back_off.items():
            self._crashloop(pod, name, run.waiting)
            run.wake_in(remaining)
        changed = False
        for info in actions.resume:
            await self.runtime.start(info.id)
            changed = True
        if sandbox is None:  # it died since it was created: the next sync makes a new one
            return changed
        for start in actions.start:
            if start.restart:
                self.backoff.next((uid, start.spec["name"]))
        # Their files and links are made one container at a time (they share the pod's), then Docker creates and
        # starts the app containers at once (init containers come one at a time anyway).
        ready = []
        for start in actions.start:
            args = await self._prepare(pod, start, sandbox, pod_ip, run)
            if args is not None:
                ready.append((start.spec["name"], args))
        started = await asyncio.gather(
            *(self._create_and_start(pod, name, args, run) for name, args in ready)
        )
        return changed or any(started)

    def _observe_start(self, pod: dict[str, Any], status: dict[str, Any] | None, running: int) -> None:
        """The pod start latency metric, once per pod: creation to every app container running."""
        uid = pod["metadata"]["uid"]
        if not status or status["phase"] != "Running" or uid in self.start_observed:
            return
        if running == len(pod.get("spec", {}).get("containers") or []):
            self.start_observed.add(uid)
            created = _epoch(pod["metadata"].get("creationTimestamp"))
            if created:
                self.metrics.pod_start_duration.observe(max(0.0, time.time() - created))

    # -- pieces ------------------------------------------------------------------------------------------------

    def _views(
        self,
        pod: dict[str, Any],
        by_name: dict[str, list[ContainerInfo]],
        waiting: dict[str, tuple[str, str]],
    ) -> tuple[list[ContainerView], list[ContainerView], bool]:
        policy = pod.get("spec", {}).get("restartPolicy") or "Always"

        def view(c: dict[str, Any]) -> ContainerView:
            instances = by_name.get(c["name"], [])
            cur = instances[0] if instances else None
            prev = instances[1] if len(instances) > 1 else None
            reason, message = waiting.get(c["name"], (None, ""))
            ready = started = False
            if cur is not None and cur.running:
                started = self.probes.started(cur.id, c)
                ready = self.probes.ready(cur.id, c)
            return ContainerView(c, cur, prev, reason, message, ready, started)

        init_views = [view(c) for c in pod.get("spec", {}).get("initContainers") or []]
        app_views = [view(c) for c in pod.get("spec", {}).get("containers") or []]
        init_failed = policy == "Never" and any(
            v.current is not None and v.current.exited and v.current.exit_code != 0 for v in init_views
        )
        return init_views, app_views, init_failed

    @staticmethod
    def _terminal(
        pod: dict[str, Any],
        policy: str,
        init_views: list[ContainerView],
        app_views: list[ContainerView],
        init_failed: bool,
    ) -> bool:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or init_failed:
            return True
        if policy == "Always" or not app_views:
            return False
        for v in app_views:
            cur = v.current
            if cur is None or not cur.exited:
                return False
            if policy == "OnFailure" and cur.exit_code != 0:
                return False
        return True

    def _crashloop(self, pod: dict[str, Any], name: str, waiting: dict[str, tuple[str, str]]) -> None:
        delay = self.backoff.delay((pod["metadata"]["uid"], name))
        md = pod["metadata"]
        message = (
            f"back-off {delay:g}s restarting failed container={name} "
            f"pod={md['name']}_{md.get('namespace', 'default')}({md['uid']})"
        )
        waiting[name] = ("CrashLoopBackOff", message)
        self.event(pod, "Warning", "BackOff", "Back-off restarting failed container " + name)

    async def _create_sandbox(self, pod: dict[str, Any], attempt: int) -> ContainerInfo:
        uid = pod["metadata"]["uid"]
        image = self.config.pause_image
        args = dict(
            name=spec.sandbox_name(pod, attempt),
            labels=spec.sandbox_labels(pod, attempt),
            hostname=pod_dns.container_hostname(pod, self.config.cluster_domain),
            ipc_mode="shareable",
            mounts=spec.sandbox_mounts(pod),  # the pod's emptyDir medium Memory volumes live as long as it
            **self.network.sandbox_args(pod),
        )
        try:
            sandbox_id = await self.runtime.create(image, **args)
        except ImageMissing:  # pulled only when missing: no image inspect before every sandbox
            await self.runtime.pull(image)
            sandbox_id = await self.runtime.create(image, **args)
        await self.runtime.start(sandbox_id)
        sandbox = await self.runtime.inspect(sandbox_id)
        if sandbox is None or not sandbox.running:
            raise RuntimeFailure("pause container exited at once")
        try:
            pod_ip = await self.network.setup(pod, sandbox)
        except Exception:
            await self.runtime.remove(sandbox_id)
            raise
        self.pod_ips[uid] = pod_ip
        return sandbox

    async def _prepare(
        self, pod: dict[str, Any], start: Start, sandbox: ContainerInfo, pod_ip: str | None, run: _SyncPass
    ) -> dict[str, Any] | None:
        """Pull (per policy) and make the create arguments of one container; None (and a waiting reason) when it
        cannot be created yet."""
        c, name = start.spec, start.spec["name"]
        if not await self._image_ready(pod, c, run):
            return None
        if self.volume_failures.get(pod["metadata"]["uid"]):
            run.waiting[name] = ("ContainerCreating", "")  # FailedMount events say which volume and why
            return None
        return await self._container_args(pod, start, sandbox, pod_ip, run)

    async def _create_and_start(
        self, pod: dict[str, Any], name: str, args: dict[str, Any], run: _SyncPass
    ) -> bool:
        """Create and start one container. False (and a waiting reason) when it could not be created."""
        image = args.pop("image")
        try:
            container_id = await self.runtime.create(image, **args)
        except RuntimeFailure as exc:
            run.waiting[name] = ("CreateContainerError", str(exc))
            self.event(pod, "Warning", "Failed", f"Error: {exc}")
            run.wake_in(5.0)
            return False
        self.event(pod, "Normal", "Created", f"Created container {name}")
        try:
            await self.runtime.start(container_id)
        except RuntimeFailure as exc:
            self.event(pod, "Warning", "Failed", f"Error: failed to start container {name}: {exc}")
            return True  # it exists, exited: the restart policy and back-off take it from here
        self.event(pod, "Normal", "Started", f"Started container {name}")
        return True

    async def _image_ready(self, pod: dict[str, Any], c: dict[str, Any], run: _SyncPass) -> bool:
        result = await self.images.ensure(
            c.get("image", ""), c.get("imagePullPolicy"), lambda t, r, m: self.event(pod, t, r, m)
        )
        if result.ok:
            return True
        run.waiting[c["name"]] = (result.reason, result.message)
        retry = self.images.retry_in(c.get("image", ""))
        if result.reason == "ErrImagePull":
            run.wake_in(min(1.0, retry / 2))  # the next look shows ImagePullBackOff while the back-off runs
        elif result.reason == "ImagePullBackOff":
            run.wake_in(max(retry, 0.1))
        return False

    async def _container_args(
        self, pod: dict[str, Any], start: Start, sandbox: ContainerInfo, pod_ip: str | None, run: _SyncPass
    ) -> dict[str, Any] | None:
        """Docker's create arguments for the container (its claims linked, its env built, its volume and DNS files
        in place); None, with the container's waiting reason and an event, when they cannot be made yet."""
        c, name = start.spec, start.spec["name"]
        try:
            local_claims = await self.claims.prepare(pod)
            env = await container_env(
                pod, c, self.volumes.objects, service_env=await self.service_env.for_pod(pod), pod_ip=pod_ip or "",
                host_ip=self.host_ip(), allocatable=self.allocatable(),
                warn=lambda reason, message: self.event(pod, "Warning", reason, message),
            )  # fmt: skip
        except (ConfigError, ClaimError, MountError, StatusError, ClientConnectionError) as exc:
            # A missing ConfigMap, Secret or key, or a claim not yet bound or whose volume cannot be reached: the
            # kubelet's CreateContainerConfigError, retried until it is there.
            run.waiting[name] = ("CreateContainerConfigError", str(exc))
            self.event(pod, "Warning", "Failed", f"Error: {exc}")
            run.wake_in(2.0)
            return None
        try:
            await asyncio.to_thread(self._make_volume_dirs, pod, local_claims)
            args = spec.container_args(
                pod, c, sandbox_id=sandbox.id, restart_count=start.restart_count, init=start.init,
                root_dir=self.config.root_dir, env=env,
            )  # fmt: skip
            binds, warnings = pod_dns.write_pod_files(
                spec.pod_dir(self.config.root_dir, pod), pod, c, pod_ip=pod_ip or "",
                cluster_dns=self.config.cluster_dns, cluster_domain=self.config.cluster_domain,
                host=read_resolv_conf(self.config.resolv_conf),
            )  # fmt: skip
        except MountError as exc:
            # A mount that would leave its volume (a subPath through a symlink, a volume written past the API):
            # this container is not created; the pod's other containers and every other pod carry on.
            log.warning("container %s of %s not created: %s", name, pod["metadata"].get("name"), exc)
            run.waiting[name] = ("CreateContainerConfigError", str(exc))
            self.event(pod, "Warning", "Failed", f"Error: {exc}")
            run.wake_in(10.0)
            return None
        args["mounts"] = [*args["mounts"], *(Mount(t, s, type="bind", read_only=True) for s, t in binds)]
        for reason, message in warnings:
            self.event(pod, "Warning", reason, message)
        return args

    def _make_volume_dirs(self, pod: dict[str, Any], local_claims: dict[str, str]) -> None:
        """The pod's emptyDir directories (mode 0777, as the kubelet makes them: any user of the pod writes there)
        and hostPath DirectoryOrCreate ones; then the fsGroup's ownership of its emptyDirs and local claims."""
        paths = spec.volume_paths(self.config.root_dir, pod)
        empty_dirs = [
            str(v["name"])
            for v in pod.get("spec", {}).get("volumes") or []
            if "emptyDir" in v and (v["emptyDir"] or {}).get("medium") != "Memory"
        ]
        for name, (path, kind) in paths.items():
            if kind == "DirectoryOrCreate" and path and not Path(path).exists():
                Path(path).mkdir(parents=True, exist_ok=True)
                if name in empty_dirs:
                    os.chmod(path, 0o777)
        try:
            group, policy = ownership.fs_group(pod), ownership.change_policy(pod)
        except ownership.OwnershipError as exc:
            raise MountError(str(exc)) from exc
        if group is None:
            return
        for name, path in [*((n, paths[n][0]) for n in empty_dirs), *local_claims.items()]:
            try:
                ownership.set_volume_ownership(path, group, policy)
            except OSError as exc:
                raise MountError(f'fsGroup ownership of volume "{name}" failed: {exc}') from exc

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

    async def _write_status(
        self,
        pod: dict[str, Any],
        init_views: list[ContainerView],
        app_views: list[ContainerView],
        init_failed: bool,
        override: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        uid = pod["metadata"]["uid"]
        old = pod.get("status") or {}
        # Our last write may not have come back through the informer yet: base transition times on it.
        base = {**pod, "status": self.last_status.get(uid) or old}
        start_time = (
            old.get("startTime") or (self.last_status.get(uid) or {}).get("startTime") or now_rfc3339()
        )
        status = pod_status(
            base, init_views, app_views, pod_ip=self.pod_ips.get(uid) or None, host_ip=self.host_ip(),
            start_time=start_time, init_failed=init_failed,
        )  # fmt: skip
        status.update(override or {})
        if not status_changed(old, status) or self.last_status.get(uid) == status:
            return status
        md = pod["metadata"]
        try:
            # The uid is a precondition: a pod recreated under the same name (a StatefulSet member) must not
            # get the status of the one this worker ran.
            body = {"metadata": {"uid": uid}, "status": status}
            await self.client.patch(PODS, md["name"], body, md.get("namespace"), subresource="status")
        except StatusError as exc:
            if is_not_found(exc) or is_conflict(exc):  # gone, or the uid precondition names another pod
                return None
            raise
        except ClientConnectionError as exc:
            log.warning("status of %s not written: %s", md["name"], exc)
            return status
        self.last_status[uid] = status
        return status
