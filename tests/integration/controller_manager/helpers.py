"""What the integration controller_manager tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import UTC, datetime
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError
from tests import factories
from tests.background import Background
from tests.factories import Obj
from tests.resources import PODS

FAST_LEASE = [
    "--leader-elect-lease-duration",
    "3s",
    "--leader-elect-renew-deadline",
    "2s",
    "--leader-elect-retry-period",
    "0.5s",
]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The controller tests' pods: container "c", no grace period (nothing runs them; deletion is immediate).
FAST_EXIT = {"terminationGracePeriodSeconds": 0}


def template(image: str = "busybox:1", labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return factories.template(labels or {"app": "web"}, [{"name": "c", "image": image}], **FAST_EXIT, **spec)


def replicaset(name: str, replicas: int, labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return factories.replicaset(name, replicas, labels, pod_spec=FAST_EXIT, **spec)


def deployment(name: str, replicas: int, image: str = "busybox:1", **spec: Any) -> Obj:
    return factories.deployment(name, replicas, image, "c", labelled=False, pod_spec=FAST_EXIT, **spec)


def pod_ready_status(ip: str, ready: bool = True) -> Obj:
    return {
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now()}
            ],
        }
    }


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


_ips = itertools.count(2)


def next_ip() -> str:
    n = next(_ips)
    return f"10.250.{n // 250}.{n % 250 + 1}"


class PodReadier(Background):
    """A stand-in kubelet: every new pod in `namespace` becomes Running and Ready after `delay` seconds."""

    def __init__(self, client: Client, namespace: str, delay: float = 0.0) -> None:
        self.client = client
        self.namespace = namespace
        self.delay = delay
        self.paused = False
        self._pending: set[asyncio.Task[None]] = set()
        self._done: set[str] = set()

    async def __aexit__(self, *exc: object) -> None:
        try:
            await super().__aexit__(*exc)  # first the watch, so that no new readying starts
        finally:
            for t in self._pending:
                t.cancel()
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                async for _etype, pod in self.client.watch(PODS, self.namespace):
                    uid = pod["metadata"]["uid"]
                    if uid in self._done or is_ready(pod) or pod["metadata"].get("deletionTimestamp"):
                        continue
                    self._done.add(uid)
                    task = asyncio.create_task(self._ready(pod["metadata"]["name"]))
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)
            except StatusError:
                await asyncio.sleep(0.1)

    async def _ready(self, name: str) -> None:
        await asyncio.sleep(self.delay)
        while self.paused:
            await asyncio.sleep(0.05)
        with contextlib.suppress(StatusError):
            await self.client.patch(
                PODS, name, pod_ready_status(next_ip()), self.namespace, subresource="status"
            )


class LivePodCounter(Background):
    """Counts, from a watch, the pods of a namespace that exist and are not being deleted; remembers the maximum."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.live: set[str] = set()
        self.max = 0
        self._started = asyncio.Event()

    async def __aenter__(self) -> LivePodCounter:
        await super().__aenter__()
        await self._started.wait()
        return self

    async def _run(self) -> None:
        listed = await self.client.list(PODS, self.namespace)
        rv = listed["metadata"]["resourceVersion"]
        for pod in listed["items"]:
            self._see("ADDED", pod)
        self._started.set()
        async for etype, pod in self.client.watch(PODS, self.namespace, resource_version=rv):
            self._see(etype, pod)

    def _see(self, etype: str, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        if etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            self.live.discard(uid)
        else:
            self.live.add(uid)
        self.max = max(self.max, len(self.live))


def serving_pod(
    name: str, labels: dict[str, str], port: int = 8080, port_name: str = "http", **spec: Any
) -> Obj:
    """A pod whose container "c" serves on `port` (named `port_name`)."""
    box = factories.container("c", "busybox", ports=[{"name": port_name, "containerPort": port}])
    return factories.pod(name, labels, containers=[box], **spec)


async def web_and_db_pods(client: Client, namespace: str) -> None:
    """What the endpoint tests select from: pods "a" (app=web, ready, 10.251.0.1), "b" (app=web on port 9090, not
    ready, 10.251.0.2) and "other" (app=db, ready, 10.251.0.3)."""
    await client.create(PODS, serving_pod("a", {"app": "web"}), namespace)
    await client.create(PODS, serving_pod("b", {"app": "web"}, port=9090), namespace)
    await client.create(PODS, serving_pod("other", {"app": "db"}), namespace)
    await client.patch(PODS, "a", pod_ready_status("10.251.0.1"), namespace, subresource="status")
    await client.patch(
        PODS, "b", pod_ready_status("10.251.0.2", ready=False), namespace, subresource="status"
    )
    await client.patch(PODS, "other", pod_ready_status("10.251.0.3"), namespace, subresource="status")
