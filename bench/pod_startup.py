"""Pod startup latency: 30 pods created at once on one real kubelet, against bare `docker run` in the same run.

    python bench/pod_startup.py [--pods 30] [--rounds 1]

Starts etcd, the apiserver and one kubelet (CNI networking) on this machine, creates N pods (pause + one busybox
app container, image present) at once, and measures each pod's time from its create request to the watch event
that shows it Running with all containers running. Then it starts N bare pause + app pairs with the Docker SDK
(`network_mode=none` for the pause, `container:<pause>` for the app), N at once, timing each pair. Prints a table
and writes JSON to bench/results/pod_startup-<timestamp>.json. Targets: p99 <= 3 s, p50 <= 2x bare Docker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.kubelet.conftest import start_token_controllers  # noqa: E402
from tests.harness import (  # noqa: E402
    ApiServer,
    Etcd,
    admin_tls,
    free_port,
    node_identity,
    start_component,
    stop_process,
    wait_until,
)
from tests.images import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_images  # noqa: E402

CLUSTER_CIDR = "10.244.0.0/16"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def _all_running(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    return (
        status.get("phase") == "Running"
        and bool(statuses)
        and all("running" in (s.get("state") or {}) for s in statuses)
    )


async def kubelet_round(api_url: str, node: str, n: int) -> list[float]:
    """Create n pods at once; seconds from each create request to the watch event showing it Running."""
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(verify=admin_tls(), base_url=api_url, timeout=30) as client:
        (await client.post("/api/v1/namespaces", json={"metadata": {"name": ns}})).raise_for_status()
        sent: dict[str, float] = {}
        running: dict[str, float] = {}
        done = asyncio.Event()
        watching = asyncio.Event()

        async def watch() -> None:
            async with client.stream("GET", f"/api/v1/namespaces/{ns}/pods", params={"watch": "true"},
                                     timeout=httpx.Timeout(60, read=None)) as resp:  # fmt: skip
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

        await asyncio.gather(*(create(i) for i in range(n)))
        try:
            await asyncio.wait_for(done.wait(), 120)
        finally:
            watcher.cancel()
        latencies = [running[name] - sent[name] for name in sent]
        await client.delete(f"/api/v1/namespaces/{ns}")
        for name in sent:
            await client.delete(f"/api/v1/namespaces/{ns}/pods/{name}", params={"gracePeriodSeconds": "0"})
    return latencies


def docker_round(n: int, tag: str) -> list[float]:
    """n bare pause + app pairs started at once with the Docker SDK; seconds per pair until the app runs."""
    client = docker.from_env(max_pool_size=n + 4)
    label = {"io.kubelite.bench": tag}

    def pair(i: int) -> float:
        start = time.monotonic()
        pause = client.containers.run(PAUSE_IMAGE, detach=True, network_mode="none", ipc_mode="shareable",
                                      labels=label, name=f"bench-{tag}-pause-{i}")  # fmt: skip
        client.containers.run(BUSYBOX_IMAGE, ["sleep", "3600"], detach=True, network_mode=f"container:{pause.id}",
                              ipc_mode=f"container:{pause.id}", labels=label, name=f"bench-{tag}-app-{i}")  # fmt: skip
        return time.monotonic() - start

    try:
        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(pair, range(n)))
    finally:
        for c in client.containers.list(all=True, filters={"label": f"io.kubelite.bench={tag}"}):
            c.remove(force=True)
        client.close()


def cleanup_node(node: str, pod_cidr: str, root: Path) -> None:
    from kubelet.network import host
    from kubelet.network.cni import CniInvoker, bridge_name, node_conflist

    conflist = node_conflist(node, pod_cidr, str(root / "cni" / "networks"))
    invoker = CniInvoker("/usr/lib/cni", root / "cni" / "results")

    async def teardown() -> None:
        for cid in invoker.cached_ids():
            try:
                await invoker.delete(conflist, cid, "")
            except Exception as exc:  # best effort; the bridge goes below
                print(f"CNI DEL {cid[:12]}: {exc}", file=sys.stderr)
        await host.remove_rules(CLUSTER_CIDR, pod_cidr, node)

    asyncio.run(teardown())
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=io.kubelite.node={node}"],
                         capture_output=True, text=True).stdout.split()  # fmt: skip
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    subprocess.run(["ip", "link", "del", bridge_name(node)], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    ensure_images()
    guard_existed = bool(json.loads(subprocess.run(["ip", "-j", "route", "show", "exact", CLUSTER_CIDR],
                                                   capture_output=True, text=True).stdout or "[]"))  # fmt: skip
    node = f"bench{uuid.uuid4().hex[:5]}"
    pod_cidr = f"10.244.{random.randint(100, 250)}.0/24"
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-"))
    etcd = Etcd()
    api: ApiServer | None = None
    kubelet = None
    controllers = None
    log_path = None
    kube: list[float] = []
    bare: list[float] = []
    try:
        etcd.start()
        api = ApiServer(etcd.url)
        api.start()
        port = free_port()
        # Pods get their API credentials (kube-api-access): the default ServiceAccount and kube-root-ca.crt.
        controllers = start_token_controllers(api)
        cert, key = api.pki.serving(node, ("127.0.0.1",))
        kubelet, log_path = start_component(["kubelet", *api.component_args(*node_identity(node)), "--node-name", node,
                                             "--node-ip", "127.0.0.1", "--address", "127.0.0.1", "--port", str(port),
                                             "--tls-cert-file", str(cert), "--tls-private-key-file", str(key),
                                             "--client-ca-file", api.ca_file,
                                             "--pod-cidr", pod_cidr, "--root-dir", str(tmp / "root"),
                                             "--cni-conf-dir", str(tmp / "cni")], "kubelet-bench")  # fmt: skip
        wait_until(lambda: httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=1, verify=api.ca_file).status_code
                   == 200, 30, what="kubelet")  # fmt: skip
        for r in range(args.rounds):
            bare += docker_round(args.pods, f"{node}-{r}")
            kube += asyncio.run(kubelet_round(api.url, node, args.pods))
            wait_until(lambda: not subprocess.run(["docker", "ps", "-q", "--filter", f"label=io.kubelite.node={node}"],
                                                  capture_output=True, text=True).stdout.strip(), 60,
                       what="bench pods removed")  # fmt: skip
    finally:
        stop_process(kubelet)
        if controllers is not None:
            stop_process(controllers[0])
            controllers[1].unlink(missing_ok=True)
        cleanup_node(node, pod_cidr, tmp / "root")
        if api is not None:
            api.stop()
            api.log_path.unlink(missing_ok=True)
        etcd.destroy()
        if not guard_existed:
            from kubelet.network import host

            asyncio.run(host.remove_guard(CLUSTER_CIDR))
        shutil.rmtree(tmp, ignore_errors=True)
        if log_path is not None:
            log_path.unlink(missing_ok=True)
    k, d = summary(kube), summary(bare)
    ratio = k["p50"] / d["p50"] if d["p50"] else float("inf")
    print(f"pod startup, {args.pods} pods at once x {args.rounds} round(s), {platform.node()}")
    print(f"{'':24}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    for label, s in (("kubelet (create->Running)", k), ("bare docker run pair", d)):
        print(f"{label:24}{s['p50']:8.2f}{s['p90']:8.2f}{s['p99']:8.2f}{s['max']:8.2f}")
    print(f"p50 ratio kubelet/bare: {ratio:.2f}x (target <= 2x); kubelet p99 {k['p99']:.2f}s (target <= 3s)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "benchmark": "pod_startup",
        "time": stamp,
        "pods": args.pods,
        "rounds": args.rounds,
        "host": {"cpus": __import__("os").cpu_count(), "kernel": platform.release()},
        "kubelet_seconds": k,
        "bare_docker_seconds": d,
        "p50_ratio": ratio,
        "targets": {"p99_max_seconds": 3.0, "p50_ratio_max": 2.0},
        "met": {"p99": k["p99"] <= 3.0, "p50_ratio": ratio <= 2.0},
    }
    path = out / f"pod_startup-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
