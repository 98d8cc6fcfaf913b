"""Starting a pod's containers (kubelet/pod_sync.py decides which): the sandbox with its network, each
container's image, volume directories and Docker create arguments, then create and start, with the waiting
reason and the time to look again when a step cannot finish yet.

A new sandbox's network (CNI ADD) is set up while its app containers are created, as creating needs no network;
they start once it is done and the pod IP is in the pod's /etc/hosts. Init containers, and containers whose env
holds the pod IP, are created after it. A new pod's containers are created once its sandbox has started (their
create arguments are made before): on a burst of pod starts Docker then starts the sandboxes without the
containers' creates beside them, as bare `docker run` pairs do (measured: the sandboxes start ~0.15-0.3 s sooner
at the p50 of 30 pods at once, and the pods run no later)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.types import Mount

from apimachinery.client import ClientConnectionError
from apimachinery.dnsconfig import read_resolv_conf
from apimachinery.errors import StatusError
from kubelet import pod_dns
from kubelet.claims import ClaimError, ClaimVolumes
from kubelet.config import KubeletConfig
from kubelet.env import container_env, uses_pod_ip
from kubelet.images import ImageManager
from kubelet.network.pod_network import PodNetwork
from kubelet.pod_actions import PodActions, Start
from kubelet.runtime import spec
from kubelet.runtime.docker import (
    LABEL_TYPE,
    TYPE_SANDBOX,
    ContainerInfo,
    DockerRuntime,
    ImageMissing,
    RuntimeFailure,
)
from kubelet.runtime.mounts import MountError
from kubelet.service_env import MasterServiceEnv
from kubelet.trace import mark
from kubelet.volumes import ownership
from kubelet.volumes.manager import ApiVolumes, SetUpFailure
from kubelet.volumes.sources import ConfigError

log = logging.getLogger("kubelet.sync")

EventFn = Callable[[dict[str, Any], str, str, str], None]


@dataclass
class SyncPass:
    """What one sync learns on its way: the containers' waiting reasons, when it wants to run again, and the
    containers it created or started (the only ones whose state it must read again)."""

    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    requeue: float | None = None
    touched: list[str] = field(default_factory=list)
    sandbox_failed: bool = False  # a new sandbox's network could not be set up (it is gone)

    def wake_in(self, seconds: float) -> None:
        self.requeue = seconds if self.requeue is None else min(self.requeue, seconds)


class PodStarter:
    """The start steps of `PodSyncer`, which holds these parts."""

    config: KubeletConfig
    runtime: DockerRuntime
    network: PodNetwork
    images: ImageManager
    event: EventFn
    host_ip: Callable[[], str]
    pod_ips: dict[str, str]
    claims: ClaimVolumes
    allocatable: Callable[[], dict[str, str]]
    volumes: ApiVolumes
    volume_failures: dict[str, list[SetUpFailure]]
    service_env: MasterServiceEnv

    async def _create_sandbox_container(self, pod: dict[str, Any], attempt: int) -> str:
        """Create (not start) the pod's pause container; its id."""
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
            return await self.runtime.create(
                image, sending=lambda: mark(pod, "sandbox create request"), **args
            )
        except ImageMissing:  # pulled only when missing: no image inspect before every sandbox
            await self.runtime.pull(image)
            return await self.runtime.create(image, **args)

    async def _create_sandbox(self, pod: dict[str, Any], attempt: int) -> ContainerInfo:
        """Create and start the pod's pause container (its network comes next: `_wire_sandbox`)."""
        return await self._start_sandbox(await self._create_sandbox_container(pod, attempt))

    async def _start_sandbox(self, sandbox_id: str) -> ContainerInfo:
        await self.runtime.start(sandbox_id)
        sandbox = await self.runtime.inspect(sandbox_id)
        if sandbox is None or not sandbox.running:
            raise RuntimeFailure("pause container exited at once")
        return sandbox

    async def _wire_sandbox(self, pod: dict[str, Any], sandbox: ContainerInfo) -> str:
        """The started sandbox's network (CNI ADD); its pod IP. A sandbox that cannot be wired is removed."""
        try:
            pod_ip = await self.network.setup(pod, sandbox)
        except Exception:
            await self.runtime.remove(sandbox.id)
            raise
        self.pod_ips[pod["metadata"]["uid"]] = pod_ip
        return pod_ip

    async def _prepare(
        self, pod: dict[str, Any], start: Start, sandbox: ContainerInfo, pod_ip: str | None, run: SyncPass
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
        self, pod: dict[str, Any], name: str, args: dict[str, Any], run: SyncPass
    ) -> bool:
        """Create and start one container. False (and a waiting reason) when it could not be created."""
        container_id = await self._create_container(pod, name, args, run)
        if container_id is None:
            return False
        await self._start_container(pod, name, container_id)
        return True

    async def _create_container(
        self, pod: dict[str, Any], name: str, args: dict[str, Any], run: SyncPass
    ) -> str | None:
        """Create one container (not started); its id. None (and a waiting reason) when it could not be created."""
        image = args.pop("image")
        try:
            container_id = await self.runtime.create(image, **args)
            run.touched.append(container_id)
        except RuntimeFailure as exc:
            run.waiting[name] = ("CreateContainerError", str(exc))
            self.event(pod, "Warning", "Failed", f"Error: {exc}")
            run.wake_in(5.0)
            return None
        self.event(pod, "Normal", "Created", f"Created container {name}")
        return container_id

    async def _start_container(self, pod: dict[str, Any], name: str, container_id: str) -> None:
        """Start a created container. One that fails to start exists, exited: the restart policy and back-off
        take it from there."""
        try:
            await self.runtime.start(container_id)
        except RuntimeFailure as exc:
            self.event(pod, "Warning", "Failed", f"Error: failed to start container {name}: {exc}")
            return
        self.event(pod, "Normal", "Started", f"Started container {name}")

    async def _image_ready(self, pod: dict[str, Any], c: dict[str, Any], run: SyncPass) -> bool:
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
        self, pod: dict[str, Any], start: Start, sandbox: ContainerInfo, pod_ip: str | None, run: SyncPass
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

    def _write_hosts(self, pod: dict[str, Any], pod_ip: str) -> None:
        """The pod's /etc/hosts with its IP, once its network is set up (its containers were created before)."""
        pod_dns.write_hosts(spec.pod_dir(self.config.root_dir, pod), pod, pod_ip, self.config.cluster_domain)

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

    # -- a new sandbox: its containers created while its network is set up ------------------------------------

    def _sandbox_failed(self, pod: dict[str, Any], exc: Exception) -> None:
        self.event(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}")
        log.warning("sandbox for %s failed: %s", pod["metadata"]["name"], exc)

    async def _wired(self, pod: dict[str, Any], sandbox: ContainerInfo, run: SyncPass) -> str | None:
        """Wire the new sandbox's network; its pod IP, or None when that failed (the sandbox is gone then)."""
        try:
            return await self._wire_sandbox(pod, sandbox)
        except Exception as exc:
            self._sandbox_failed(pod, exc)
            run.sandbox_failed = True
            return None

    async def _ready(
        self,
        pod: dict[str, Any],
        starts: list[Start],
        sandbox: ContainerInfo,
        pod_ip: str | None,
        run: SyncPass,
    ) -> list[tuple[str, dict[str, Any]]]:
        """(name, create arguments) of the containers that can be created now. Their files and links are made one
        container at a time (they share the pod's); Docker then creates (and starts) them at once (init containers
        come one at a time anyway)."""
        ready = []
        for start in starts:
            args = await self._prepare(pod, start, sandbox, pod_ip, run)
            if args is not None:
                ready.append((start.spec["name"], args))
        return ready

    @staticmethod
    def _create_before_wired(actions: PodActions) -> bool:
        """Whether a new sandbox's containers may be created while its network is set up: app containers whose
        environment does not hold the pod IP (creating needs no network; starting waits for it, as the IP in
        /etc/hosts does). An init container waits: it may look at the network as soon as it runs."""
        return all(not start.init and not uses_pod_ip(start.spec) for start in actions.start)

    async def _start_beside_wiring(
        self, pod: dict[str, Any], sandbox: ContainerInfo, starts: list[Start], run: SyncPass
    ) -> bool:
        """Make and create the containers while the new sandbox's network is set up (CNI ADD), then, the pod IP
        written into the pod's /etc/hosts, start them. When the network fails, the created containers go with
        the sandbox. True when a container was created."""
        made, pod_ip = await asyncio.gather(
            self._create_all(pod, starts, sandbox, run),
            self._wired(pod, sandbox, run),
            return_exceptions=True,
        )
        if isinstance(made, BaseException):
            raise made
        if isinstance(pod_ip, BaseException):  # not an error of the network (_wired reports those): cancelled
            raise pod_ip
        if pod_ip is None:
            await asyncio.gather(*(self.runtime.remove(cid) for _, cid in made))
            return bool(made)
        if made:
            await asyncio.to_thread(self._write_hosts, pod, pod_ip)
            await asyncio.gather(*(self._start_container(pod, name, cid) for name, cid in made))
        return bool(made)

    async def _create_all(
        self, pod: dict[str, Any], starts: list[Start], sandbox: ContainerInfo, run: SyncPass
    ) -> list[tuple[str, str]]:
        """Create (not start) the containers that can be created before the pod has its IP: (name, id) each."""
        return await self._create_ready(pod, await self._ready(pod, starts, sandbox, None, run), run)

    async def _create_ready(
        self, pod: dict[str, Any], ready: list[tuple[str, dict[str, Any]]], run: SyncPass
    ) -> list[tuple[str, str]]:
        """Create (not start) the containers whose create arguments are made, at once: (name, id) each."""
        created = await asyncio.gather(
            *(self._create_container(pod, name, args, run) for name, args in ready)
        )
        return [(name, cid) for (name, _), cid in zip(ready, created, strict=True) if cid is not None]

    async def _start_fresh_pod(
        self, pod: dict[str, Any], starts: list[Start], volumes: Awaitable[None], run: SyncPass
    ) -> ContainerInfo | None:
        """A pod with no container yet whose containers may be created before it has its IP: the pause container
        is created and started, then wired (CNI ADD) while the containers are created in it (their arguments made
        once the API volumes they mount are written); they start when the pod IP is in its /etc/hosts. The running
        sandbox, or None when it failed (the containers created for it are removed)."""
        written = asyncio.ensure_future(volumes)  # the pause container needs none of them
        try:
            return await self._fresh_pod_steps(pod, starts, written, run)
        finally:
            if not written.done():  # cancelled (the kubelet stops) before its containers awaited it
                written.cancel()

    async def _fresh_pod_steps(
        self, pod: dict[str, Any], starts: list[Start], written: asyncio.Future[None], run: SyncPass
    ) -> ContainerInfo | None:
        mark(pod, "sandbox create sent")
        try:
            sandbox_id = await self._create_sandbox_container(pod, 0)
        except Exception as exc:
            await written
            self._sandbox_failed(pod, exc)
            return None
        mark(pod, "sandbox created")

        start_over = asyncio.Event()  # the sandbox's start is over, whether it started or not
        running = False

        async def containers() -> list[tuple[str, str]]:
            await written
            mark(pod, "volumes written")
            ready = await self._ready(pod, starts, will_run(sandbox_id), None, run)
            await start_over.wait()  # Docker starts the sandbox before it creates the containers (see above)
            if not running:
                return []
            made = await self._create_ready(pod, ready, run)
            mark(pod, "containers created")
            return made

        async def sandbox_up() -> ContainerInfo:
            nonlocal running
            try:
                sandbox = await self._start_sandbox(sandbox_id)
                running = True
            finally:
                start_over.set()
            mark(pod, "sandbox started")
            await self._wire_sandbox(pod, sandbox)
            mark(pod, "network set up")
            return sandbox

        made, sandbox = await asyncio.gather(containers(), sandbox_up(), return_exceptions=True)
        if isinstance(sandbox, BaseException):
            if not isinstance(made, BaseException):  # in a sandbox that will not run: they go with it
                await asyncio.gather(*(self.runtime.remove(cid) for _, cid in made))
            if not isinstance(sandbox, Exception):
                raise sandbox
            self._sandbox_failed(pod, sandbox)
            return None
        if isinstance(made, BaseException):
            raise made
        if made:
            await asyncio.to_thread(self._write_hosts, pod, self.pod_ips[pod["metadata"]["uid"]])
            await asyncio.gather(*(self._start_container(pod, name, cid) for name, cid in made))
            mark(pod, "containers started")
        return sandbox


def will_run(sandbox_id: str) -> ContainerInfo:
    """A created sandbox as it will be once started: what deciding a new pod's first containers, and making their
    create arguments, need of it."""
    return ContainerInfo(
        id=sandbox_id, name="", labels={LABEL_TYPE: TYPE_SANDBOX}, status="running", exit_code=0,
        started_at=None, finished_at=None, created="", image="", image_id="", pid=0,
    )  # fmt: skip
