"""Pod start-up latency: 30 pods created at once on one real kubelet, against 30 bare pause + app pairs started the
way the kubelet starts a pod (Docker, then the same CNI plugins with the same network config), in the same run.

    flock /tmp/kubelite-host.lock .venv/bin/python bench/pod_startup.py [--pods 30] [--rounds 4]

Needs root, Docker and the CNI plugins (it changes bridges, routes and iptables: run it under the host lock).
Starts etcd, the apiserver (bench/common.py) and one kubelet (CNI networking). Then, for --rounds rounds, in
alternating order (bare first in even rounds, the kubelet first in odd ones), after one warm-up pod of each:
* kubelet: create N pods (pause + one busybox app container, image present) at once; each pod's time from its
  create request to the watch event that shows it Running with all containers running;
* bare: N pairs at once, each timed from its first Docker call until the app container runs: the pause container
  with network "none", CNI ADD on its network namespace (loopback, then bridge + host-local: the node network
  config list the kubelet writes, kubelet/network/cni.py node_conflist, on a bridge and pod CIDR of its own), then
  the app container in the pause container's network and IPC namespaces. Docker calls through a thread pool as
  wide as N, as the kubelet's.
What the kubelet's figure has that the bare one has not: the API (create, the kubelet's watch, its status
update, our watch) and the kubelet's own work. Writes bench/results/pod_startup.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu
from bench.common import (
    ControlPlane,
    alternate,
    control_plane,
    kubelet,
    percentile,
    summarize,
    token_controllers,
)
from bench.options import bench_parser
from bench.record import Recording, ratio, target
from kubelet.network import host
from kubelet.network.cni import CniInvoker, bridge_name, find_bin_dir, node_conflist
from tests.cluster import guard_route_restored, running_nodes
from tests.images import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_images
from tests.polling import wait_until

LABEL = "io.kubelite.bench"


def _all_running(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    return (
        status.get("phase") == "Running"
        and bool(statuses)
        and all("running" in (s.get("state") or {}) for s in statuses)
    )


async def kubelet_round(
    cp: ControlPlane, node: str, n: int, steps: dict[str, dict[str, float]] | None = None
) -> list[float]:
    """Create n pods at once; seconds from each create request to the watch event showing it Running. `steps`
    gets each pod's client-side times ("ns/name" -> step -> monotonic time)."""
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    async with cp.http(timeout=30) as client:
        (await client.post("/api/v1/namespaces", json={"metadata": {"name": ns}})).raise_for_status()
        # The namespace's kube-root-ca.crt (which every pod's API credentials need) is published a moment after
        # the namespace appears; the clock starts once it is there, as for pods in any namespace but a new one.
        deadline = time.monotonic() + 30
        while (await client.get(f"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt")).status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"kube-root-ca.crt in {ns}")
            await asyncio.sleep(0.05)
        sent: dict[str, float] = {}
        created: dict[str, float] = {}
        running: dict[str, float] = {}
        done = asyncio.Event()
        watching = asyncio.Event()

        async def watch() -> None:
            async with client.stream("GET", f"/api/v1/namespaces/{ns}/pods", params={"watch": "true"},
                                     timeout=None) as resp:  # fmt: skip
                watching.set()
                async for line in resp.aiter_lines():
                    if not line.strip():
                        continue
                    obj = json.loads(line)["object"]
                    name = obj["metadata"]["name"]
                    if name not in running and _all_running(obj):
                        running[name] = time.monotonic()
                        if len(running) == n:
                            done.set()
                            return

        watcher = asyncio.create_task(watch())
        await watching.wait()

        async def create(i: int) -> None:
            name = f"p{i}"
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name},
                "spec": {
                    "nodeName": node,
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "app", "image": BUSYBOX_IMAGE, "command": ["sleep", "3600"]}],
                },
            }
            sent[name] = time.monotonic()
            (await client.post(f"/api/v1/namespaces/{ns}/pods", json=pod)).raise_for_status()
            created[name] = time.monotonic()

        try:
            await asyncio.gather(*(create(i) for i in range(n)))
            await asyncio.wait_for(done.wait(), 120)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        latencies = [running[name] - sent[name] for name in sent]
        for name in sent:
            if steps is not None:
                steps[f"{ns}/{name}"] = {
                    "sent": sent[name],
                    "created": created[name],
                    "running seen": running[name],
                }
        await client.delete(f"/api/v1/namespaces/{ns}")
        for name in sent:
            await client.delete(f"/api/v1/namespaces/{ns}/pods/{name}", params={"gracePeriodSeconds": "0"})
    return latencies


class BarePairs:
    """Pause + app pairs on Docker with CNI networking, without the API or a kubelet; on a bridge of their own."""

    def __init__(self, node: str, pod_cidr: str, root: Path, width: int) -> None:
        bin_dir = find_bin_dir(None)
        if bin_dir is None:
            raise SystemExit("the CNI plugins are missing (see the README's requirements)")
        self.node = node
        self.conflist = node_conflist(node, pod_cidr, str(root / "networks"))
        self.invoker = CniInvoker(bin_dir, root / "results")
        self.docker = docker.from_env(max_pool_size=width + 4)
        self.pool = ThreadPoolExecutor(width + 4, thread_name_prefix="bench-docker")
        self.netns: dict[str, str] = {}  # pause container id -> its network namespace
        self.steps: dict[str, dict[str, float]] = {}  # pair -> step -> monotonic time

    async def _docker(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, lambda: fn(*args, **kwargs))

    async def pair(self, tag: str) -> float:
        start = time.monotonic()
        run = self.docker.containers.run
        label = {LABEL: self.node}
        pause = await self._docker(run, PAUSE_IMAGE, detach=True, network_mode="none", ipc_mode="shareable",
                                   labels=label, name=f"{self.node}-pause-{tag}")  # fmt: skip
        await self._docker(pause.reload)  # its pid (the kubelet inspects the started sandbox likewise)
        steps = self.steps[tag] = {"sent": start, "sandbox started": time.monotonic()}
        fake_pod = {"metadata": {"name": tag, "namespace": "bench", "uid": str(uuid.uuid4())}, "spec": {}}
        self.netns[pause.id] = f"/proc/{pause.attrs['State']['Pid']}/ns/net"
        await self.invoker.add(self.conflist, pause.id, self.netns[pause.id], fake_pod)
        steps["network set up"] = time.monotonic()
        await self._docker(run, BUSYBOX_IMAGE, ["sleep", "3600"], detach=True, labels=label,
                           network_mode=f"container:{pause.id}", ipc_mode=f"container:{pause.id}",
                           name=f"{self.node}-app-{tag}")  # fmt: skip
        steps["containers started"] = time.monotonic()
        return steps["containers started"] - start

    async def round(self, n: int, tag: str) -> list[float]:
        try:
            return list(await asyncio.gather(*(self.pair(f"{tag}-{i}") for i in range(n))))
        finally:
            await self.remove()

    async def remove(self) -> None:
        """CNI DEL every networked pause container, then remove the containers."""
        for cid in self.invoker.cached_ids():
            await self.invoker.delete(self.conflist, cid, self.netns.pop(cid, ""))
        for c in await self._docker(
            self.docker.containers.list, all=True, filters={"label": f"{LABEL}={self.node}"}
        ):
            await self._docker(c.remove, force=True)

    async def destroy(self) -> None:
        await self.remove()
        await host.run("ip", "link", "del", bridge_name(self.node), check=False)
        self.pool.shutdown(wait=False)
        self.docker.close()


def node_containers_gone(node: str) -> bool:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=io.kubelite.node={node}"],
                         capture_output=True, text=True)  # fmt: skip
    return not out.stdout.strip()


def kubelet_steps(log_text: str) -> dict[str, dict[str, float]]:
    """The kubelet's trace (kubelet/trace.py, at DEBUG): "ns/name" -> step -> monotonic time of its first mark."""
    steps: dict[str, dict[str, float]] = {}
    for line in log_text.splitlines():
        if '"kubelet.trace"' not in line:
            continue
        entry = json.loads(line)
        steps.setdefault(entry["pod"], {}).setdefault(entry["step"], entry["mono"])
    return steps


def processes(cp: ControlPlane, node: Any) -> dict[str, int | None]:
    """The pids whose CPU time a traced round records."""

    def pidof(name: str) -> int | None:
        out = subprocess.run(["pidof", "-s", name], capture_output=True, text=True).stdout.strip()
        return int(out) if out else None

    def pid(part: Any) -> int | None:
        return part.proc.pid if part is not None and part.proc is not None else None

    return {
        "kubelet": pid(node), "apiserver": pid(cp.apiserver), "etcd": pid(cp.etcd), "bench": os.getpid(),
        "dockerd": pidof("dockerd"), "containerd": pidof("containerd"),
    }  # fmt: skip


def step_table(side: str, steps: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Each step's seconds after the pod's "sent" (summarized over the pods), in the order of their p50."""
    offsets: dict[str, list[float]] = {}
    for times in steps.values():
        for step, t in times.items():
            offsets.setdefault(step, []).append(t - times["sent"])
    table = {f"{side} step: {step} (s after the start)": summarize(xs, "s") for step, xs in offsets.items()}
    return dict(sorted(table.items(), key=lambda kv: kv[1]["p50"]))


@contextmanager
def profiled(pid: int | None, out: str | None) -> Iterator[None]:
    """With `out`, py-spy samples the process (`pid`) meanwhile into that file (collapsed stacks, idle frames
    left out); stopped after."""
    if not out or pid is None:
        yield
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--output", out, "--nonblocking",
                             "--gil"], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def measure(cp: ControlPlane, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Per-round samples of both sides, alternating which goes first; with --trace, each side's steps."""
    third = random.sample(range(100, 250), 2)
    node = f"bench{uuid.uuid4().hex[:5]}"
    extra = ["--log-level", "DEBUG"] if args.trace else []
    proc = kubelet(cp, node, f"10.244.{third[0]}.0/24", tmp / "kubelet", extra)
    bare = BarePairs(f"bare{uuid.uuid4().hex[:5]}", f"10.244.{third[1]}.0/24", tmp / "bare", args.pods)
    samples: dict[str, list[list[float]]] = {"kubelet": [], "bare": []}
    steps: dict[str, dict[str, float]] = {}
    round_cpu: dict[str, list[float]] = {}
    try:
        with running_nodes([proc]):

            def one(
                side: str, n: int, tag: str, timed: dict[str, dict[str, float]] | None = None
            ) -> list[float]:
                pids = processes(cp, proc)
                before = cpu.snapshot(pids)
                if side == "bare":
                    got = asyncio.run(bare.round(n, tag))
                else:
                    got = asyncio.run(kubelet_round(cp, node, n, timed))
                after = cpu.snapshot(pids)
                if timed is not None and args.trace:
                    for k in before:
                        round_cpu.setdefault(f"{side} round CPU: {k}", []).append(after[k] - before[k])
                if side == "kubelet":
                    wait_until(lambda: node_containers_gone(node), 60, 0.2, what="bench pods removed")
                return got

            one("bare", 1, "warmup")
            one("kubelet", 1, "warmup")
            bare.steps.clear()
            with profiled(processes(cp, proc)["kubelet"], args.profile):
                for r, order in alternate("bare", "kubelet", args.rounds):
                    for side in order:
                        samples[side].append(one(side, args.pods, str(r), steps))
            if args.trace:
                for pod, times in kubelet_steps(proc.logs()).items():
                    if pod in steps:
                        steps[pod].update(times)
    finally:
        asyncio.run(bare.destroy())
    traced = {**step_table("kubelet", steps), **step_table("bare", bare.steps)} if args.trace else {}
    traced |= {f"{name} (s)": summarize(xs, "s") for name, xs in round_cpu.items()}
    for name, summary in traced.items():
        print(f"{name:<60} p50 {summary['p50']:6.3f}  p90 {summary['p90']:6.3f}")
    return {"samples": samples, "steps": traced}


def record(rec: Recording, measured: dict[str, Any], args: argparse.Namespace) -> None:
    samples: dict[str, list[list[float]]] = measured["samples"]
    kube = [x for r in samples["kubelet"] for x in r]
    bare = [x for r in samples["bare"] for x in r]
    figures = {f"kubelet_{q}_s": percentile(kube, int(q[1:])) for q in ("p50", "p90", "p99")}
    baseline = {f"bare_{q}_s": percentile(bare, int(q[1:])) for q in ("p50", "p90", "p99")}
    ratios = {q: ratio(f"kubelet_{q}_s", f"bare_{q}_s", figures, baseline, shown="x") for q in ("p50", "p99")}
    per_round = [
        statistics.median(k) / statistics.median(b)
        for k, b in zip(samples["kubelet"], samples["bare"], strict=True)
    ]
    targets = [
        target("kubelet p50 <= 2x bare p50", "p50", "<=", 2.0, ratios["p50"]["value"]),
        target("kubelet p99 <= 3 s", "kubelet_p99_s", "<=", 3.0, figures["kubelet_p99_s"]),
        target("kubelet p50 <= bare p50 (issue 24)", "p50", "<=", 1.0, ratios["p50"]["value"]),
        target("kubelet p99 <= 1.1x bare p99 (issue 24)", "p99", "<=", 1.1, ratios["p99"]["value"]),
    ]
    rec.write(
        figures=figures,
        baseline=baseline,
        ratios=ratios,
        targets=targets,
        samples={
            "kubelet_s (per pod, all rounds)": summarize(kube, "s"),
            "bare_s (per pair, all rounds)": summarize(bare, "s"),
            "kubelet_p50_s (per round)": summarize([statistics.median(r) for r in samples["kubelet"]], "s"),
            "bare_p50_s (per round)": summarize([statistics.median(r) for r in samples["bare"]], "s"),
            "p50 ratio (per round)": summarize(per_round, "ratio"),
            **measured["steps"],
        },
        notes=[
            "Both sides: pause (network none) + CNI ADD with the same plugins and node config list + busybox app "
            "in the pause's namespaces, N at once. The kubelet's figure adds the API and the kubelet: create "
            "request -> Running seen through a watch.",
            "Rounds alternate (bare first in even rounds) after one warm-up pod of each; percentiles are over "
            "every sample of every round.",
        ],
    )


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--trace", action="store_true", help="the kubelet at DEBUG: each side's start-up steps"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="py-spy samples the kubelet during the rounds, into FILE"
    )
    args = parser.parse_args()
    rec = Recording("pod_startup", vars(args))
    ensure_images()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-"))
    try:
        # Pods get their API credentials (kube-api-access) as in a cluster: the controllers that publish them run.
        with guard_route_restored(), control_plane() as cp, token_controllers(cp):
            measured = measure(cp, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record(rec, measured, args)
    from bench.report import show

    show("pod_startup")


if __name__ == "__main__":
    main()
