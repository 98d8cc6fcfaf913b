"""A new pod's steps in order (kubelet/pod_start.py, _fresh_pod_steps): the sandbox create first, the containers
created once the sandbox has started, started once the pod IP is written; none created when the sandbox fails."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from kubelet.pod_start import PodStarter, SyncPass
from kubelet.runtime.docker import ContainerInfo, RuntimeFailure

POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"containers": [{"name": "app"}]}}


def _info(cid: str) -> ContainerInfo:
    return ContainerInfo(id=cid, name=cid, labels={}, status="running", exit_code=0, started_at=None,
                         finished_at=None, created="", image="", image_id="", pid=42)  # fmt: skip


class Runtime:
    def __init__(self, start_fails: bool) -> None:
        self.start_fails = start_fails
        self.calls: list[str] = []

    async def create(self, image: str, **kwargs: Any) -> str:
        await asyncio.sleep(0.01)
        cid = "sandbox" if image == "pause" else str(kwargs["name"])
        self.calls.append(f"create {cid}")
        return cid

    async def start(self, cid: str) -> None:
        await asyncio.sleep(0.05)
        if cid == "sandbox" and self.start_fails:
            raise RuntimeFailure("OCI runtime create failed")
        self.calls.append(f"start {cid}")

    async def inspect(self, cid: str) -> ContainerInfo:
        return _info(cid)

    async def remove(self, cid: str) -> None:
        self.calls.append(f"remove {cid}")


def _starter(runtime: Runtime, events: list[str]) -> PodStarter:
    starter = PodStarter()
    starter.config = SimpleNamespace(pause_image="pause", cluster_domain="cluster.local")  # type: ignore[assignment]
    starter.runtime = runtime  # type: ignore[assignment]

    async def setup(pod: dict[str, Any], sandbox: ContainerInfo) -> str:
        runtime.calls.append("network")
        return "10.0.0.5"

    starter.network = SimpleNamespace(sandbox_args=lambda pod: {"network_mode": "none"}, setup=setup)  # type: ignore[assignment]
    starter.event = lambda pod, type_, reason, message: events.append(reason)
    starter.pod_ips = {}

    async def ready(*_: Any) -> list[tuple[str, dict[str, Any]]]:
        runtime.calls.append("arguments made")
        return [("app", {"image": "busybox", "name": "app", "labels": {}})]

    starter._ready = ready  # type: ignore[method-assign,assignment]
    starter._write_hosts = lambda pod, pod_ip: runtime.calls.append(f"hosts {pod_ip}")  # type: ignore[method-assign]
    return starter


async def _written() -> None:
    await asyncio.sleep(0)


async def test_containers_are_created_once_the_sandbox_has_started() -> None:
    runtime, events = Runtime(start_fails=False), list[str]()
    starter = _starter(runtime, events)
    run = SyncPass()
    sandbox = await starter._fresh_pod_steps(POD, [], asyncio.ensure_future(_written()), run)
    assert sandbox is not None and sandbox.id == "sandbox"
    calls = runtime.calls
    assert calls[0] == "create sandbox" and calls.index("arguments made") < calls.index("start sandbox")
    assert calls.index("start sandbox") < calls.index("create app")  # not created while the sandbox starts
    assert calls.index("network") < calls.index("hosts 10.0.0.5") < calls.index("start app")
    assert events == ["Created", "Started"] and run.touched == ["app"]


async def test_a_sandbox_that_fails_to_start_gets_no_containers() -> None:
    runtime, events = Runtime(start_fails=True), list[str]()
    starter = _starter(runtime, events)
    run = SyncPass()
    assert await starter._fresh_pod_steps(POD, [], asyncio.ensure_future(_written()), run) is None
    assert "create app" not in runtime.calls and "start app" not in runtime.calls
    assert events == ["FailedCreatePodSandBox"] and run.touched == []
