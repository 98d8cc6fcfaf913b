"""Deployment rollout and node failure on hollow nodes: how long a 30-replica Deployment takes to come up and to
roll to a new image (and whether availability held), then how long after a node group dies it is back at full
strength.

    .venv/bin/python bench/rollout.py [--replicas 30] [--nodes 5] [--surge 25%] [--unavailable 25%]
                                      [--grace 4] [--toleration 2]

Starts etcd, the apiserver, the scheduler, the controller-manager and hollow nodes (simulated kubelets that move
bound pods to Running and Ready) on loopback. Creates the Deployment and times it to "rollout complete" (kubectl
rollout status's test); then changes the image and times the rolling update, while a watch counts ready pods after
every event. Then it SIGKILLs the hollow-node process that runs 3 of the nodes (their Leases stop) and times:
the nodes going NotReady (--node-monitor-grace-period = --grace), the first eviction (after the shortened
default tolerations, --toleration), and the Deployment back at full strength on the surviving nodes.
Prints a table and writes JSON to bench/results/rollout-<timestamp>.json. The hollow nodes take no time to start
containers, so the numbers are the control plane's own: apiserver, scheduler and controllers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apimachinery.client import Client  # noqa: E402
from apimachinery.resources import by_resource  # noqa: E402
from tests.harness import (  # noqa: E402
    CONTROLLER_MANAGER,
    SCHEDULER,
    ApiServer,
    Etcd,
    free_port,
    start_component,
    stop_process,
    wait_until,
)

PODS = by_resource("", "pods")
NODES = by_resource("", "nodes")
NAMESPACES = by_resource("", "namespaces")
DEPLOYMENTS = by_resource("apps", "deployments")
NS = "bench-rollout"


def deployment(replicas: int, surge: str, unavailable: str) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {"name": "app", "image": "busybox:1", "resources": {"requests": {"cpu": "10m"}}}
                    ],
                },
            },
        },
    }


def ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


class ReadyCounter:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.pods: dict[str, bool] = {}
        self.created = 0
        self.min_ready: int | None = None
        self.armed = False

    async def run(self) -> None:
        async for etype, pod in self.client.watch(PODS, NS):
            uid = pod["metadata"]["uid"]
            if etype == "ADDED":
                self.created += 1
            if etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
                self.pods.pop(uid, None)
            else:
                self.pods[uid] = ready(pod)
            if self.armed:
                n = sum(self.pods.values())
                self.min_ready = n if self.min_ready is None else min(self.min_ready, n)


async def wait_complete(client: Client, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        d = await client.get(DEPLOYMENTS, "web", NS)
        s = d.get("status") or {}
        n = d["spec"]["replicas"]
        if (
            s.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and s.get("updatedReplicas") == n
            and s.get("replicas") == n
            and s.get("availableReplicas") == n
        ):
            return time.perf_counter() - start
        await asyncio.sleep(0.05)
    raise TimeoutError("rollout did not complete")


async def measure(api: ApiServer, args: argparse.Namespace) -> dict[str, Any]:
    client = Client(api.config())
    try:
        await client.create(NAMESPACES, {"metadata": {"name": NS}})

        async def nodes_ready() -> bool:
            nodes = (await client.list(NODES))["items"]
            names = [n["metadata"]["name"] for n in nodes if _ready_status(n) == "True"]
            return sum(1 for n in names if n.startswith("bench-")) >= args.nodes

        while not await nodes_ready():
            await asyncio.sleep(0.1)
        counter = ReadyCounter(client)
        watch = asyncio.create_task(counter.run())
        await asyncio.sleep(0.2)  # let the watch open before the first pod exists
        t0 = time.perf_counter()
        await client.create(DEPLOYMENTS, deployment(args.replicas, args.surge, args.unavailable), NS)
        await wait_complete(client)
        create_s = time.perf_counter() - t0
        created_first = counter.created
        counter.armed = True
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "busybox:2"}]}}}}
        t1 = time.perf_counter()
        await client.patch(DEPLOYMENTS, "web", patch, NS, patch_type="strategic")
        await wait_complete(client)
        rollout_s = time.perf_counter() - t1
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        d = await client.get(DEPLOYMENTS, "web", NS)
        return {
            "replicas": args.replicas,
            "nodes": args.nodes,
            "max_surge": args.surge,
            "max_unavailable": args.unavailable,
            "create_to_available_s": round(create_s, 3),
            "rollout_s": round(rollout_s, 3),
            "pods_created_initial": created_first,
            "pods_created_rollout": counter.created - created_first,
            "min_ready_during_rollout": counter.min_ready,
            "allowed_min_ready": args.replicas - _floor_percent(args.unavailable, args.replicas),
            "final_revision": d["metadata"]["annotations"].get("deployment.kubernetes.io/revision"),
        }
    finally:
        await client.aclose()


async def failover(api: ApiServer, args: argparse.Namespace, kill: Any) -> dict[str, Any]:
    """Kill the first node group; time NotReady, first eviction and full strength again."""
    client = Client(api.config())
    try:
        pods = (await client.list(PODS, NS))["items"]
        victims = {
            p["metadata"]["uid"] for p in pods if (p["spec"].get("nodeName") or "").startswith("bench-a-")
        }
        t0 = time.perf_counter()
        kill()
        not_ready_s = first_eviction_s = None
        while True:
            nodes = (await client.list(NODES))["items"]
            dead = [n for n in nodes if n["metadata"]["name"].startswith("bench-a-")]
            if not_ready_s is None and dead and all(_ready_status(n) == "Unknown" for n in dead):
                not_ready_s = time.perf_counter() - t0
            pods = (await client.list(PODS, NS))["items"]
            by_uid = {p["metadata"]["uid"]: p for p in pods}
            if first_eviction_s is None and any(
                uid not in by_uid or by_uid[uid]["metadata"].get("deletionTimestamp") for uid in victims
            ):
                first_eviction_s = time.perf_counter() - t0
            d = await client.get(DEPLOYMENTS, "web", NS)
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp") and ready(p)]
            on_dead = [p for p in live if (p["spec"].get("nodeName") or "").startswith("bench-a-")]
            if (
                first_eviction_s is not None
                and (d.get("status") or {}).get("availableReplicas") == args.replicas
                and not on_dead
                and len(live) == args.replicas
            ):
                return {
                    "pods_on_killed_nodes": len(victims),
                    "killed_to_not_ready_s": round(not_ready_s or 0.0, 3),
                    "killed_to_first_eviction_s": round(first_eviction_s, 3),
                    "killed_to_full_strength_s": round(time.perf_counter() - t0, 3),
                }
            if time.perf_counter() - t0 > 120:
                raise TimeoutError("deployment did not come back to full strength")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


def _ready_status(node: dict[str, Any]) -> str | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status"))
    return None


def _floor_percent(value: str, total: int) -> int:
    return int(value[:-1]) * total // 100 if value.endswith("%") else int(value)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, default=30)
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--surge", default="25%")
    p.add_argument("--unavailable", default="25%")
    p.add_argument("--grace", type=int, default=4, help="--node-monitor-grace-period, seconds")
    p.add_argument(
        "--toleration", type=int, default=2, help="default not-ready/unreachable tolerationSeconds"
    )
    args = p.parse_args()
    if args.nodes < 4:
        p.error("--nodes must be at least 4 (3 are killed)")

    etcd = Etcd()
    etcd.start()
    toleration = str(args.toleration)
    api = ApiServer(
        etcd.url,
        [
            "--default-not-ready-toleration-seconds",
            toleration,
            "--default-unreachable-toleration-seconds",
            toleration,
        ],
    )
    procs = []
    try:
        api.start()
        scheduler = api.component_args(*SCHEDULER)
        procs.append(
            start_component(["scheduler", *scheduler, "--port", str(free_port())], "bench-scheduler")
        )
        cm = [*api.component_args(*CONTROLLER_MANAGER), "--root-ca-file", api.ca_file,
              "--node-monitor-grace-period", f"{args.grace}s", "--node-eviction-rate", "10"]  # fmt: skip
        procs.append(start_component(["controller_manager", *cm, "--port", str(free_port())], "bench-cm"))
        # Hollow nodes stand for many kubelets at once: they run as the admin.
        hollow = ["--kubeconfig", str(api.admin_kubeconfig), "--lease-interval", "1"]
        group_a = start_component(
            ["kubelet.hollow", *hollow, "--count", "3", "--name-prefix", "bench-a-"], "bench-a"
        )
        procs.append(group_a)
        rest = str(args.nodes - 3)
        procs.append(
            start_component(
                ["kubelet.hollow", *hollow, "--count", rest, "--name-prefix", "bench-b-"], "bench-b"
            )
        )
        wait_until(lambda: all(p.poll() is None for p, _ in procs), 5, what="components running")
        result = asyncio.run(measure(api, args))
        result.update(asyncio.run(failover(api, args, group_a[0].kill)))
        result["node_monitor_grace_period_s"] = args.grace
        result["default_toleration_s"] = args.toleration
    finally:
        for proc, log in procs:
            stop_process(proc)
            log.unlink(missing_ok=True)
        api.stop()
        api.log_path.unlink(missing_ok=True)
        etcd.destroy()

    result["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result["timestamp"] = stamp
    rows = [
        ("replicas / hollow nodes", f"{result['replicas']} / {result['nodes']}"),
        ("maxSurge / maxUnavailable", f"{result['max_surge']} / {result['max_unavailable']}"),
        ("create -> all available", f"{result['create_to_available_s']:.2f} s"),
        ("rolling update (image change)", f"{result['rollout_s']:.2f} s"),
        ("pods created by the rollout", str(result["pods_created_rollout"])),
        (
            "min ready during rollout",
            f"{result['min_ready_during_rollout']} (allowed >= {result['allowed_min_ready']})",
        ),
        ("final revision", str(result["final_revision"])),
        (
            "grace period / toleration",
            f"{result['node_monitor_grace_period_s']} s / {result['default_toleration_s']} s",
        ),
        ("pods on the 3 killed nodes", str(result["pods_on_killed_nodes"])),
        ("kill -> nodes NotReady", f"{result['killed_to_not_ready_s']:.2f} s"),
        ("kill -> first eviction", f"{result['killed_to_first_eviction_s']:.2f} s"),
        ("kill -> full strength again", f"{result['killed_to_full_strength_s']:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    out = REPO / "bench" / "results" / f"rollout-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
