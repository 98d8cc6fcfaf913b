"""Docker as the kubelet's container runtime, through the Docker SDK for Python.

A pod is a sandbox (a pause container holding the network namespace) plus app and init containers started with
`network_mode=container:<sandbox>`. Every container carries labels (LABEL_*) naming its node, pod and container,
so that a restarted kubelet finds and re-adopts what is running, and several kubelets can share one engine: each
only ever lists containers labelled with its own node name.

The requests of a pod's start and stop (create, start, inspect, list, stop, kill, remove) go out on the loop
through aiodocker (kubelet/runtime/engine.py); the rest goes through the Docker SDK, which blocks: those calls run
in this runtime's own thread pool, and long log streams get a thread of their own. Every call is timed into
`kubelet_docker_operations_duration_seconds`.
"""

from __future__ import annotations

import asyncio
import calendar
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import docker
import docker.errors

from kubelet.metrics import KubeletMetrics
from kubelet.runtime.engine import Engine, EngineError

LABEL_NODE = "io.kubelite.node"
LABEL_POD_UID = "io.kubelite.pod.uid"
LABEL_POD_NAMESPACE = "io.kubelite.pod.namespace"
LABEL_POD_NAME = "io.kubelite.pod.name"
LABEL_CONTAINER_NAME = "io.kubelite.container.name"
LABEL_RESTART_COUNT = "io.kubelite.container.restart-count"
LABEL_TYPE = "io.kubelite.type"
LABEL_INIT = "io.kubelite.container.init"
LABEL_GRACE = "io.kubelite.pod.termination-grace-period"
TYPE_SANDBOX = "sandbox"
TYPE_CONTAINER = "container"

_NO_TIME = "0001-01-01T00:00:00Z"
OWN_STARTS_MAX = 1024
WAKING_EVENTS = ("die", "oom", "start", "destroy")  # the container events a pod worker is woken by
OWN_STARTS_TTL = 60.0
T = TypeVar("T")


class RuntimeFailure(Exception):
    """A Docker call failed; the message is Docker's explanation."""


class ImageMissing(RuntimeFailure):
    """The image is not present in the engine (and was not pulled)."""


@dataclass(frozen=True)
class ContainerInfo:
    """What the kubelet needs from `docker inspect` of one of its containers."""

    id: str
    name: str
    labels: dict[str, str]
    status: str  # created | running | paused | restarting | exited | dead | removing
    exit_code: int
    started_at: str | None
    finished_at: str | None
    created: str
    image: str
    image_id: str
    pid: int
    oom_killed: bool = False
    error: str = ""
    ip_address: str = ""
    env: list[str] = field(default_factory=list)
    started_epoch: float = 0.0  # sub-second precision, for back-off and probe timing
    finished_epoch: float = 0.0

    @property
    def pod_uid(self) -> str:
        return self.labels.get(LABEL_POD_UID, "")

    @property
    def container_name(self) -> str:
        return self.labels.get(LABEL_CONTAINER_NAME, "")

    @property
    def restart_count(self) -> int:
        try:
            return int(self.labels.get(LABEL_RESTART_COUNT, "0"))
        except ValueError:
            return 0

    @property
    def is_sandbox(self) -> bool:
        return self.labels.get(LABEL_TYPE) == TYPE_SANDBOX

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting", "paused")

    @property
    def exited(self) -> bool:
        return self.status in ("exited", "dead")


def _rfc3339(docker_time: str | None) -> str | None:
    """Docker's nanosecond timestamps to Kubernetes' second-precision RFC 3339; None for Docker's zero time."""
    if not docker_time or docker_time.startswith(_NO_TIME[:10]):
        return None
    return docker_time[:19] + "Z"


def _epoch(docker_time: str | None) -> float:
    """Seconds since the epoch of Docker's RFC 3339 nanosecond timestamp; 0.0 for its zero time."""
    if not docker_time or docker_time.startswith(_NO_TIME[:10]):
        return 0.0
    whole, _, frac = docker_time.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float("0." + frac.split("+")[0]) if frac else 0.0)


def container_info(attrs: dict[str, Any]) -> ContainerInfo:
    """A ContainerInfo from the body of `GET /containers/{id}/json`."""
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    networks = ((attrs.get("NetworkSettings") or {}).get("Networks")) or {}
    ip = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), "")
    return ContainerInfo(
        id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        labels=dict(config.get("Labels") or {}),
        status=state.get("Status", "unknown"),
        exit_code=int(state.get("ExitCode") or 0),
        started_at=_rfc3339(state.get("StartedAt")),
        finished_at=_rfc3339(state.get("FinishedAt")),
        created=_rfc3339(attrs.get("Created")) or "",
        image=config.get("Image", ""),
        image_id=attrs.get("Image", ""),
        pid=int(state.get("Pid") or 0),
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error") or "",
        ip_address=ip or "",
        env=list(config.get("Env") or []),
        started_epoch=_epoch(state.get("StartedAt")),
        finished_epoch=_epoch(state.get("FinishedAt")),
    )


class DockerRuntime:
    """The Docker engine seen through one node's labels. All methods are coroutines unless noted."""

    def __init__(
        self,
        node_name: str,
        metrics: KubeletMetrics | None = None,
        client: docker.DockerClient | None = None,
        workers: int = 48,
        engine: Engine | None = None,
    ) -> None:
        self.node_name = node_name
        self.metrics = metrics or KubeletMetrics()
        # The SDK's HTTP pool must be as wide as the thread pool, or threads queue on connections.
        self.client = client or docker.from_env(max_pool_size=workers, timeout=120)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"docker-{node_name}")
        self.engine = engine or Engine(self.client.api)
        self._own_starts: dict[str, float] = {}  # container id -> when this runtime asked Docker to start it

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    async def aclose(self) -> None:
        """Close the loop's Engine API client too (on the loop that used it), then the SDK's."""
        await self.engine.aclose()
        self.close()

    async def _request(self, op: str, request: Awaitable[T]) -> T:
        """An Engine API request on the loop, timed and with its errors made the runtime's, as `_call` does."""
        start = time.monotonic()
        try:
            return await request
        except EngineError as exc:
            self.metrics.docker_operation_errors.labels(op).inc()
            if exc.image_missing:
                raise ImageMissing(exc.message) from exc
            raise RuntimeFailure(exc.message) from exc
        finally:
            self.metrics.docker_operation_duration.labels(op).observe(time.monotonic() - start)

    async def _call(self, op: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        try:
            return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))
        except docker.errors.ImageNotFound as exc:
            self.metrics.docker_operation_errors.labels(op).inc()
            raise ImageMissing(str(exc.explanation or exc)) from exc
        except docker.errors.DockerException as exc:
            self.metrics.docker_operation_errors.labels(op).inc()
            explanation = getattr(exc, "explanation", None)
            raise RuntimeFailure(str(explanation or exc)) from exc
        finally:
            self.metrics.docker_operation_duration.labels(op).observe(time.monotonic() - start)

    # -- engine ------------------------------------------------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        return await self._call("version", self.client.version)

    # -- listing -----------------------------------------------------------------------------------------------

    async def list_ids(self, pod_uid: str | None = None) -> list[dict[str, Any]]:
        """The short list entries (Id, Labels, State) of this node's containers, of one pod when `pod_uid` is given."""
        labels = [f"{LABEL_NODE}={self.node_name}"]
        if pod_uid:
            labels.append(f"{LABEL_POD_UID}={pod_uid}")
        return await self._request("list", self.engine.containers({"label": labels}))

    async def containers_named(self, namespace: str, pod: str, container: str) -> list[dict[str, Any]]:
        """The list entries of a pod's app containers of that name, newest first (highest restart count, then
        latest created): [0] is the current one, [1] the previous."""
        entries = [
            e
            for e in await self.list_ids()
            if (e.get("Labels") or {}).get(LABEL_POD_NAMESPACE) == namespace
            and e["Labels"].get(LABEL_POD_NAME) == pod
            and e["Labels"].get(LABEL_CONTAINER_NAME) == container
            and e["Labels"].get(LABEL_TYPE) == TYPE_CONTAINER
        ]
        entries.sort(
            key=lambda e: (int(e["Labels"].get(LABEL_RESTART_COUNT, "0")), e.get("Created", 0)), reverse=True
        )
        return entries

    async def info(self) -> dict[str, Any]:
        """The engine's `docker info` (CgroupDriver, CgroupVersion, DockerRootDir, ...)."""
        return await self._call("info", self.client.info)

    async def container_sizes(self) -> dict[str, int]:
        """Id -> size in bytes of the writable layer of this node's running containers. Docker walks every layer
        to answer: call it seldom."""
        labels = [f"{LABEL_NODE}={self.node_name}"]
        entries = await self._call(
            "list_sizes", self.client.api.containers, size=True, filters={"label": labels}
        )
        return {str(e["Id"]): int(e.get("SizeRw") or 0) for e in entries}

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        """The container's state, or None when it no longer exists."""
        try:
            attrs = await self._request("inspect", self.engine.inspect(container_id))
        except RuntimeFailure as exc:
            if "No such container" in str(exc):
                return None
            raise
        return container_info(attrs)

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        """Inspected containers of this node (of one pod), sandboxes included."""
        entries = await self.list_ids(pod_uid)
        infos = await asyncio.gather(*(self.inspect(e["Id"]) for e in entries))
        return [i for i in infos if i is not None]

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def create(
        self,
        image: str,
        *,
        name: str,
        labels: dict[str, str],
        sending: Callable[[], object] | None = None,
        **kwargs: Any,
    ) -> str:
        """Create a container labelled for this node; returns its id. A leftover of the same name is replaced.
        `containers.create`'s arguments (mounts, network_mode, ...) make the one create request, without the
        inspect of the new container that `containers.create` adds. `sending` is called as the request goes out
        (kubelet/trace.py)."""
        args = {**kwargs, "name": name, "labels": {**labels, LABEL_NODE: self.node_name}}
        if sending is not None:
            sending()
        try:
            return await self._request("create_container", self.engine.create(image, args))
        except RuntimeFailure as exc:
            if "is already in use" not in str(exc):
                raise
            # A container of that name survived an earlier crash of ours; it is ours (same labels), replace it.
            await self.remove(name)
            return await self._request("create_container", self.engine.create(image, args))

    async def start(self, container_id: str) -> None:
        """Start the container. Its `start` event is then known to be ours (`started_here`)."""
        self._own_starts[container_id] = time.monotonic()
        try:
            await self._request("start_container", self.engine.start(container_id))
        except RuntimeFailure:
            self._own_starts.pop(container_id, None)
            raise

    def started_here(self, container_id: str) -> bool:
        """True, once, when the container's `start` event comes from this runtime's own start: the pod worker
        that started it reports it already (not a coroutine; call it on the event loop)."""
        if len(self._own_starts) > OWN_STARTS_MAX:  # events missed (the stream reconnected): forget old ones
            horizon = time.monotonic() - OWN_STARTS_TTL
            self._own_starts = {k: t for k, t in self._own_starts.items() if t > horizon}
        return self._own_starts.pop(container_id, None) is not None

    async def stop(self, container_id: str, timeout: float) -> None:
        """Send the stop signal (SIGTERM), wait `timeout` seconds, then SIGKILL. A gone container is not an error."""
        try:
            await self._request("stop_container", self.engine.stop(container_id, max(0, int(timeout))))
        except RuntimeFailure as exc:
            if "No such container" not in str(exc):
                raise

    async def kill(self, container_id: str) -> None:
        try:
            await self._request("kill_container", self.engine.kill(container_id))
        except RuntimeFailure as exc:
            # Killing a container that already stopped or vanished is what we wanted anyway.
            if "is not running" not in str(exc) and "No such container" not in str(exc):
                raise

    async def remove(self, container_id: str) -> None:
        try:
            await self._request("remove_container", self.engine.remove(container_id))
        except RuntimeFailure as exc:
            if "No such container" not in str(exc) and "already in progress" not in str(exc):
                raise

    async def remove_pod_volumes(self, pod_uid: str) -> None:
        """Remove the Docker volumes of a pod that is gone (its emptyDir medium Memory tmpfs volumes)."""

        async def run() -> None:
            for volume in await self.engine.volumes({"label": [f"{LABEL_POD_UID}={pod_uid}"]}):
                await self.engine.remove_volume(str(volume["Name"]))

        await self._request("remove_volumes", run())

    # -- exec and logs -----------------------------------------------------------------------------------------

    async def exec(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes]:
        """Run `cmd` in the container; (exit code, combined output). TimeoutError after `timeout` seconds."""

        def run() -> tuple[int, bytes]:
            exec_id = self.client.api.exec_create(container_id, cmd, stdout=True, stderr=True)["Id"]
            output = self.client.api.exec_start(exec_id)
            code = self.client.api.exec_inspect(exec_id).get("ExitCode")
            return (int(code) if code is not None else -1, output)

        return await asyncio.wait_for(self._call("exec", run), timeout)

    async def exec_create(self, container_id: str, cmd: list[str], *, stdin: bool, tty: bool) -> str:
        """An exec instance (not started) of `cmd` in the container; its id. Output is always attached."""
        created = await self._call(
            "exec_create",
            self.client.api.exec_create,
            container_id,
            cmd,
            stdin=stdin,
            stdout=True,
            stderr=True,
            tty=tty,
        )
        return str(created["Id"])

    async def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return await self._call("exec_inspect", self.client.api.exec_inspect, exec_id)

    async def exec_resize(self, exec_id: str, *, width: int, height: int) -> None:
        await self._call("exec_resize", self.client.api.exec_resize, exec_id, height=height, width=width)

    async def resize(self, container_id: str, *, width: int, height: int) -> None:
        await self._call("resize", self.client.api.resize, container_id, height, width)

    async def inspect_raw(self, container_id: str) -> dict[str, Any]:
        return await self._request("inspect", self.engine.inspect(container_id))

    async def logs(
        self, container_id: str, *, follow: bool = False, tail: int | None = None, timestamps: bool = False
    ) -> AsyncGenerator[bytes, None]:
        """The container's stdout and stderr as they come. With `follow`, until the container stops or the
        consumer stops iterating (the Docker stream is closed then, which ends the reader thread)."""
        kwargs: dict[str, Any] = {
            "stdout": True,
            "stderr": True,
            "timestamps": timestamps,
            "tail": "all" if tail is None else tail,
        }
        if not follow:
            data = await self._call("logs", self.client.api.logs, container_id, stream=False, **kwargs)
            yield data
            return
        stream = await self._call(
            "logs", self.client.api.logs, container_id, stream=True, follow=True, **kwargs
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)

        def pump() -> None:
            try:
                for chunk in stream:
                    asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
            except (
                Exception
            ):  # the stream was closed by the consumer, or the engine went away: end either way
                pass
            finally:
                try:
                    asyncio.run_coroutine_threadsafe(queue.put(None), loop)
                except RuntimeError:  # the loop closed first; nobody is left to read
                    pass

        threading.Thread(target=pump, name=f"logs-{container_id[:12]}", daemon=True).start()
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
        finally:
            stream.close()

    # -- images ------------------------------------------------------------------------------------------------

    async def image_id(self, ref: str) -> str | None:
        """The image's id (sha256:...) when present locally, else None."""
        try:
            attrs = await self._request("inspect_image", self.engine.image(ref))
        except ImageMissing:
            return None
        except RuntimeFailure as exc:
            if "No such image" in str(exc):
                return None
            raise
        return str(attrs["Id"])

    async def pull(self, ref: str) -> str:
        """Pull `ref` (default tag latest); returns the image id."""
        repo, tag = split_image_ref(ref)
        image = await self._call("pull_image", self.client.images.pull, repo, tag=tag)
        return str(image.id)

    # -- events ------------------------------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[dict[str, Any], None]:
        """This node's container events that can wake a pod worker (WAKING_EVENTS: the engine leaves out the
        create, attach, ... events, which no pod waits for), from now on, as they come; until the stream ends
        (RuntimeFailure when it breaks: the caller reconnects)."""
        filters = {
            "type": ["container"],
            "label": [f"{LABEL_NODE}={self.node_name}"],
            "event": list(WAKING_EVENTS),
        }
        try:
            async for event in self.engine.events(int(time.time()), filters):
                yield event
        except EngineError as exc:
            raise RuntimeFailure(exc.message) from exc


def split_image_ref(ref: str) -> tuple[str, str]:
    """("repo", "tag") for a reference; the tag defaults to "latest", digests stay with the repo."""
    if "@" in ref:
        return ref, ""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"
