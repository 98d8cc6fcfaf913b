"""The Docker runtime and the pod network against the real engine and the real CNI plugins (no apiserver)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubelet.network import host
from kubelet.network.cni import find_bin_dir
from kubelet.network.pod_network import CniNetwork, DockerBridgeNetwork, PodNetwork
from kubelet.runtime import spec
from kubelet.runtime.docker import ContainerInfo, DockerRuntime, ImageMissing
from tests.harness import docker_ok, free_pod_cidrs
from tests.images import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_images

pytestmark = [pytest.mark.docker]

CLUSTER_CIDR = "10.244.0.0/16"


@pytest.fixture
async def runtime() -> AsyncIterator[DockerRuntime]:
    if not docker_ok():
        pytest.skip("Docker engine not available")
    ensure_images()
    rt = DockerRuntime(f"it{uuid.uuid4().hex[:6]}")
    try:
        yield rt
    finally:
        for entry in await rt.list_ids():
            await rt.remove(entry["Id"])
        await rt.aclose()


def _pod(name: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4())},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX_IMAGE}]}}  # fmt: skip


async def _sandbox(rt: DockerRuntime, net: PodNetwork, pod: dict) -> tuple[ContainerInfo, str]:
    sid = await rt.create(PAUSE_IMAGE, name=spec.sandbox_name(pod, 0), labels=spec.sandbox_labels(pod, 0),
                          ipc_mode="shareable", **net.sandbox_args(pod))  # fmt: skip
    await rt.start(sid)
    sandbox = await rt.inspect(sid)
    assert sandbox is not None and sandbox.running
    return sandbox, await net.setup(pod, sandbox)


async def _app(
    rt: DockerRuntime, pod: dict, sandbox: ContainerInfo, ip: str, tmp: Path, command: list[str]
) -> str:
    c = {**pod["spec"]["containers"][0], "command": command}
    args = spec.container_args(pod, c, sandbox_id=sandbox.id, restart_count=0, init=False, root_dir=tmp,
                               env={})  # fmt: skip
    cid = await rt.create(args.pop("image"), **args)
    await rt.start(cid)
    return cid


async def _listening(rt: DockerRuntime, container_id: str, port: int, timeout: float = 20) -> None:
    """Wait until a TCP socket in the container's network namespace listens on `port` (state 0A in /proc/net/tcp or,
    for a dual-stack socket, /proc/net/tcp6)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        _code, table = await rt.exec(container_id, ["cat", "/proc/net/tcp", "/proc/net/tcp6"], timeout=5)
        local = [line.split()[1:4] for line in table.decode().splitlines() if ":" in line.split()[0]]
        if any(addr.endswith(f":{port:04X}") and state == "0A" for addr, _remote, state in local):
            return
        assert asyncio.get_running_loop().time() < deadline, f"nothing listens on port {port}: {table!r}"
        await asyncio.sleep(0.1)


async def test_container_lifecycle_exec_logs(runtime: DockerRuntime, tmp_path: Path) -> None:
    pod = _pod("life")
    sid = await runtime.create(PAUSE_IMAGE, name=spec.sandbox_name(pod, 0), labels=spec.sandbox_labels(pod, 0),
                               network_mode="none", ipc_mode="shareable")  # fmt: skip
    await runtime.start(sid)
    sandbox = await runtime.inspect(sid)
    assert sandbox is not None
    cid = await _app(
        runtime, pod, sandbox, "", tmp_path, ["sh", "-c", "echo one; echo two >&2; exec sleep 3600"]
    )
    info = await runtime.inspect(cid)
    assert (
        info is not None
        and info.running
        and info.container_name == "c"
        and info.pod_uid == pod["metadata"]["uid"]
    )
    code, out = await runtime.exec(cid, ["sh", "-c", "echo hi; exit 3"], timeout=10)
    assert (code, out) == (3, b"hi\n")
    for _ in range(50):
        chunks = [c async for c in runtime.logs(cid)]
        if b"two" in b"".join(chunks):
            break
        await asyncio.sleep(0.1)
    assert b"one\n" in b"".join(chunks) and b"two\n" in b"".join(chunks)
    stamped = b"".join([c async for c in runtime.logs(cid, tail=1, timestamps=True)])
    assert stamped.count(b"\n") == 1 and stamped[:4].isdigit()
    await runtime.stop(cid, timeout=0)
    stopped = await runtime.inspect(cid)
    assert stopped is not None and stopped.exited and stopped.exit_code == 137 and stopped.finished_at
    listed = {i.id for i in await runtime.list_containers(pod["metadata"]["uid"])}
    assert listed == {sid, cid}
    await runtime.remove(cid)
    assert await runtime.inspect(cid) is None
    assert await runtime.image_id(BUSYBOX_IMAGE) and await runtime.image_id("kubelite/absent:0") is None


@pytest.mark.skipif(find_bin_dir(None) is None, reason="CNI plugins not installed")
async def test_cni_network_gives_ips_and_routes_between_bridges(
    runtime: DockerRuntime, tmp_path: Path
) -> None:
    guard_existed = bool(
        json.loads((await host.run("ip", "-j", "route", "show", "exact", CLUSTER_CIDR))[1] or "[]")
    )
    # Subnets no bridge of this machine has: the kubelet e2e pair (session scope) keeps its bridges to the end of
    # the run, and a second bridge on one of their subnets would send our packets to theirs.
    cidr_a, cidr_b = free_pod_cidrs(2, range(100, 250))
    bin_dir = find_bin_dir(None)
    assert bin_dir is not None
    nets = [CniNetwork(f"{runtime.node_name}{x}", cidr, CLUSTER_CIDR, bin_dir, tmp_path / x / "conf",
                       tmp_path / x) for x, cidr in (("a", cidr_a), ("b", cidr_b))]  # fmt: skip
    sandboxes: list[tuple[CniNetwork, ContainerInfo]] = []
    try:
        for net in nets:
            await net.prepare()
        guard = (await host.run("ip", "-j", "route", "show", "exact", CLUSTER_CIDR))[1]
        assert json.loads(guard), "the guard route is in place before any pod traffic"
        server_pod, client_pod = _pod("srv"), _pod("cli")
        srv, srv_ip = await _sandbox(runtime, nets[0], server_pod)
        sandboxes.append((nets[0], srv))
        cli, cli_ip = await _sandbox(runtime, nets[1], client_pod)
        sandboxes.append((nets[1], cli))
        assert ipaddress.ip_address(srv_ip) in ipaddress.ip_network(cidr_a)
        assert ipaddress.ip_address(cli_ip) in ipaddress.ip_network(cidr_b)
        assert await nets[0].recover_ip(srv) == srv_ip
        for ip, net in ((srv_ip, nets[0]), (cli_ip, nets[1])):  # each address is routed to its own bridge
            route = json.loads((await host.run("ip", "-j", "route", "get", ip))[1])[0]
            assert route["dev"] == net.bridge, f"{ip} is routed via {route}, not {net.bridge}"
        server = await _app(
            runtime, server_pod, srv, srv_ip, tmp_path, ["sh", "-c", "exec nc -ll -p 9000 -e echo pong"]
        )
        cid = await _app(runtime, client_pod, cli, cli_ip, tmp_path, ["sleep", "3600"])
        await _listening(runtime, server, 9000)
        _code, out = await runtime.exec(cid, ["sh", "-c", f"nc -w 5 {srv_ip} 9000 </dev/null"], timeout=10)
        assert out.strip() == b"pong"
    finally:
        for net, sb in sandboxes:
            await net.teardown(sb.id, sb.pid)
        for net in nets:
            await net.destroy()
        if not guard_existed:
            await host.remove_guard(CLUSTER_CIDR)
    assert not any(net.invoker.cached_ids() for net in nets)


async def test_docker_bridge_fallback(runtime: DockerRuntime, tmp_path: Path) -> None:
    net = DockerBridgeNetwork(runtime, runtime.node_name, free_pod_cidrs(1, range(100, 250))[0], CLUSTER_CIDR)
    guard_existed = bool(
        json.loads((await host.run("ip", "-j", "route", "show", "exact", CLUSTER_CIDR))[1] or "[]")
    )
    try:
        await net.prepare()
        pod = _pod("fb")
        sandbox, ip = await _sandbox(runtime, net, pod)
        assert ip.startswith(net.pod_cidr.rsplit(".", 1)[0] + ".")
        cid = await _app(runtime, pod, sandbox, ip, tmp_path, ["sleep", "3600"])
        _, out = await runtime.exec(cid, ["ip", "-4", "-o", "addr", "show", "eth0"], timeout=5)
        assert f"{ip}/".encode() in out
    finally:
        for entry in await runtime.list_ids():
            await runtime.remove(entry["Id"])
        await net.destroy()
        if not guard_existed:
            await host.remove_guard(CLUSTER_CIDR)


async def test_create_of_a_missing_image_says_so(runtime: DockerRuntime) -> None:
    """The kubelet pulls the pause image only when a create says it is missing (no inspect before each sandbox)."""
    with pytest.raises(ImageMissing):
        await runtime.create(
            "kubelite/no-such-image:never", name=f"missing-{uuid.uuid4().hex[:8]}", labels={}
        )
    assert await runtime.list_ids() == []


async def test_events_of_the_nodes_containers_that_wake_a_pod(runtime: DockerRuntime) -> None:
    """The event stream brings this node's start, die and destroy events (not create), and nobody else's."""
    got: list[tuple[str, str]] = []
    stream = runtime.events()

    async def read() -> None:
        async for event in stream:
            got.append((str(event.get("status")), str((event.get("Actor") or {}).get("ID"))))

    reader = asyncio.create_task(read())
    pod = _pod("events")
    try:
        await asyncio.sleep(0.2)  # the stream is open (it also replays the current second)
        cid = await runtime.create(BUSYBOX_IMAGE, name=spec.sandbox_name(pod, 0), labels=spec.sandbox_labels(pod, 0),
                                   command=["sh", "-c", "exit 4"], network_mode="none")  # fmt: skip
        await runtime.start(cid)
        deadline = asyncio.get_running_loop().time() + 20
        while ("die", cid) not in got:
            assert asyncio.get_running_loop().time() < deadline, got
            await asyncio.sleep(0.05)
        await runtime.remove(cid)
        while ("destroy", cid) not in got:
            assert asyncio.get_running_loop().time() < deadline, got
            await asyncio.sleep(0.05)
        assert [s for s, i in got if i == cid] == ["start", "die", "destroy"]
        assert {i for _, i in got} == {cid}
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await stream.aclose()
