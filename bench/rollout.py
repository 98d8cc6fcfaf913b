"""Deployment rollout and node failure on hollow nodes: how long a 30-replica Deployment takes to come up and to
roll to a new image, how many pods were ready at the lowest point of each rolling update (measured by a watch)
beside what the controller guarantees, then how long after a node group dies the Deployment is back at full strength.

    .venv/bin/python bench/rollout.py [--replicas 30] [--nodes 5] [--surge 25%] [--unavailable 25%]
                                      [--rollouts 3] [--ready-delay 1] [--grace 4] [--toleration 2]

Starts etcd, the apiserver (bench/common.py), the scheduler, the controller-manager and hollow nodes (simulated
kubelets that move bound pods to Running and Ready --ready-delay seconds after binding, a stand-in for container
start-up: with no delay new pods are Ready before the controller can take old ones away, and a rollout never
tests maxUnavailable) on loopback. Creates the Deployment and times it to "rollout complete" (kubectl rollout
status's test); then changes the image --rollouts times, timing each rolling update while a watch on the pods
counts, after every event, the Ready pods and all pods not being deleted. What the controller guarantees
(Kubernetes' rolling update): Ready pods >= replicas - maxUnavailable (rounded down); maxSurge bounds the sum of
the ReplicaSets' sizes (replicas + maxSurge, rounded up), which the pod count may pass for a moment. Then it SIGKILLs the hollow-node process that runs 3 of the nodes (their Leases stop) and
times: the nodes going NotReady (--node-monitor-grace-period = --grace), the first eviction (after the shortened
default tolerations, --toleration), and the Deployment back at full strength on the surviving nodes.
Writes bench/results/rollout.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apimachinery.client import Client
from apimachinery.resources import must_resource
from bench.common import ControlPlane, control_plane, summarize
from bench.options import bench_parser
from bench.record import Recording, target
from tests import factories
from tests.harness import free_port, stop_process
from tests.polling import wait_until
from tests.stored import ROLLED_OUT, status_settled

PODS = must_resource("", "pods")
NODES = must_resource("", "nodes")
NAMESPACES = must_resource("", "namespaces")
DEPLOYMENTS = must_resource("apps", "deployments")
NS = "bench-rollout"


def int_or_percent(value: str) -> int | str:
    """An IntOrString as the API wants it: "25%" stays a string, "1" becomes 1."""
    return value if value.endswith("%") else int(value)


def deployment(replicas: int, surge: str, unavailable: str) -> dict[str, Any]:
    rolling = {"maxSurge": int_or_percent(surge), "maxUnavailable": int_or_percent(unavailable)}
    return factories.deployment(
        "web",
        replicas,
        containers=[factories.container(cpu="10m")],
        labelled=False,
        pod_spec={"terminationGracePeriodSeconds": 0},
        strategy={"type": "RollingUpdate", "rollingUpdate": rolling},
    )


def ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


class PodCounter:
    """One watch on the namespace's pods: after every event, the Ready pods and the pods not being deleted. Events
    come in revision order and each changes one pod, so the counts are exact at every revision. Between `arm()` and
    `disarm()` it keeps the lowest Ready count and the highest pod count."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.pods: dict[str, bool] = {}
        self.created = 0
        self.events = 0
        self.min_ready: int | None = None
        self.max_pods: int | None = None
        self.armed = False

    def arm(self) -> None:
        self.armed, self.events = True, 0
        self.min_ready = self.max_pods = None

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
                self.events += 1
                n, total = sum(self.pods.values()), len(self.pods)
                self.min_ready = n if self.min_ready is None else min(self.min_ready, n)
                self.max_pods = total if self.max_pods is None else max(self.max_pods, total)


async def wait_complete(client: Client, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        d = await client.get(DEPLOYMENTS, "web", NS)
        if status_settled(d, dict.fromkeys(ROLLED_OUT, d["spec"]["replicas"])):
            return time.perf_counter() - start
        await asyncio.sleep(0.05)
    raise TimeoutError("rollout did not complete")


async def measure(cp: ControlPlane, args: argparse.Namespace) -> dict[str, Any]:
    client = cp.client()
    try:
        await client.create(NAMESPACES, {"metadata": {"name": NS}})

        async def nodes_ready() -> bool:
            nodes = (await client.list(NODES))["items"]
            names = [n["metadata"]["name"] for n in nodes if _ready_status(n) == "True"]
            return sum(1 for n in names if n.startswith("bench-")) >= args.nodes

        while not await nodes_ready():
            await asyncio.sleep(0.1)
        counter = PodCounter(client)
        watch = asyncio.create_task(counter.run())
        await asyncio.sleep(0.2)  # let the watch open before the first pod exists
        t0 = time.perf_counter()
        await client.create(DEPLOYMENTS, deployment(args.replicas, args.surge, args.unavailable), NS)
        await wait_complete(client)
        create_s = time.perf_counter() - t0
        rollouts = []
        for i in range(args.rollouts):
            created = counter.created
            counter.arm()
            image = {
                "spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"busybox:{i + 2}"}]}}}
            }
            t1 = time.perf_counter()
            await client.patch(DEPLOYMENTS, "web", image, NS, patch_type="strategic")
            await wait_complete(client)
            rollouts.append({"seconds": time.perf_counter() - t1, "min_ready": counter.min_ready,
                             "max_pods": counter.max_pods, "pods_created": counter.created - created,
                             "events": counter.events})  # fmt: skip
            counter.armed = False
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        d = await client.get(DEPLOYMENTS, "web", NS)
        revision = d["metadata"]["annotations"].get("deployment.kubernetes.io/revision")
        return {"create_to_available_s": create_s, "rollouts": rollouts, "final_revision": revision}
    finally:
        await client.aclose()


async def failover(cp: ControlPlane, args: argparse.Namespace, kill: Any) -> dict[str, Any]:
    """Kill the first node group; time NotReady, first eviction and full strength again."""
    client = cp.client()
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


def resolve(value: str, total: int, *, round_up: bool) -> int:
    """maxSurge / maxUnavailable against `total`, rounded as Kubernetes rounds them (surge up, unavailable down)."""
    if not value.endswith("%"):
        return int(value)
    exact = int(value[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def run(args: argparse.Namespace) -> dict[str, Any]:
    toleration = str(args.toleration)
    tolerations = ["--default-not-ready-toleration-seconds", toleration,
                   "--default-unreachable-toleration-seconds", toleration]  # fmt: skip
    with control_plane(apiserver_args=tolerations) as cp:
        procs = []
        try:
            procs.append(cp.start_component("scheduler", ["--port", str(free_port())], "bench-scheduler"))
            cm = ["--node-monitor-grace-period", f"{args.grace}s", "--node-eviction-rate", "10"]
            procs.append(
                cp.start_component("controller_manager", [*cm, "--port", str(free_port())], "bench-cm")
            )
            hollow = ["--lease-interval", "1", "--ready-delay", str(args.ready_delay)]
            group_a = cp.start_component("kubelet.hollow", [*hollow, "--count", "3", "--name-prefix", "bench-a-"],
                                         "bench-a")  # fmt: skip
            procs.append(group_a)
            rest = ["--count", str(args.nodes - 3), "--name-prefix", "bench-b-"]
            procs.append(cp.start_component("kubelet.hollow", [*hollow, *rest], "bench-b"))
            wait_until(lambda: all(p.poll() is None for p, _ in procs), 5, what="components running")
            result = asyncio.run(measure(cp, args))
            result.update(asyncio.run(failover(cp, args, group_a[0].kill)))
        finally:
            for proc, log in procs:
                stop_process(proc)
                log.unlink(missing_ok=True)
    return result


def record(rec: Recording, m: dict[str, Any], args: argparse.Namespace) -> None:
    rollouts = m["rollouts"]
    figures = {
        "create_to_available_s": m["create_to_available_s"],
        "rollout_s": statistics.median(r["seconds"] for r in rollouts),
        "min_ready_measured": min(r["min_ready"] for r in rollouts),
        "min_ready_guaranteed": args.replicas - resolve(args.unavailable, args.replicas, round_up=False),
        "max_pods_measured": max(r["max_pods"] for r in rollouts),
        "max_replicas_by_surge": args.replicas + resolve(args.surge, args.replicas, round_up=True),
        "pods_created_per_rollout": statistics.median(r["pods_created"] for r in rollouts),
        "final_revision": m["final_revision"],
        **{k: m[k] for k in ("pods_on_killed_nodes", "killed_to_not_ready_s", "killed_to_first_eviction_s",
                             "killed_to_full_strength_s")},
    }  # fmt: skip
    targets = [
        target("Ready pods never below replicas - maxUnavailable", "min_ready_measured", ">=",
               figures["min_ready_guaranteed"], figures["min_ready_measured"]),
    ]  # fmt: skip
    samples = {
        "rollout_s (per rollout)": summarize([r["seconds"] for r in rollouts], "s"),
        "min_ready (per rollout)": summarize([r["min_ready"] for r in rollouts], "pods"),
        "max_pods (per rollout)": summarize([r["max_pods"] for r in rollouts], "pods"),
        "watch events (per rollout)": summarize([r["events"] for r in rollouts], "events"),
    }
    notes = [
        f"Hollow nodes: pods are Running and Ready {args.ready_delay:g} s after binding; no container runs, so the "
        "times are the control plane's (apiserver, scheduler, controllers) plus that delay.",
        "min_ready_measured / max_pods_measured: the lowest Ready count and the highest count of pods not being "
        "deleted, over every event of every rolling update, from one watch on the pods. min_ready_guaranteed is "
        "replicas - maxUnavailable (rounded down), what the rolling-update rules allow.",
        "max_replicas_by_surge (replicas + maxSurge, rounded up) bounds the sum of the ReplicaSets' sizes, not the "
        "pods: as in Kubernetes (kubernetes/kubernetes#95498), pods of a ReplicaSet just scaled down may still "
        "exist when the new one grows, so max_pods_measured can pass it for a moment.",
    ]
    rec.write(figures=figures, targets=targets, samples=samples, notes=notes)


def main() -> None:
    p = bench_parser(__doc__)
    p.add_argument("--replicas", type=int, default=30)
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--surge", default="25%")
    p.add_argument("--unavailable", default="25%")
    p.add_argument(
        "--rollouts", type=int, default=3, help="rolling updates (image changes), one after another"
    )
    p.add_argument(
        "--ready-delay", type=float, default=1.0, help="hollow nodes: seconds from binding to Ready"
    )
    p.add_argument("--grace", type=int, default=4, help="--node-monitor-grace-period, seconds")
    p.add_argument(
        "--toleration", type=int, default=2, help="default not-ready/unreachable tolerationSeconds"
    )
    args = p.parse_args()
    if args.nodes < 4:
        p.error("--nodes must be at least 4 (3 are killed)")
    rec = Recording("rollout", vars(args))
    record(rec, run(args), args)
    from bench.report import show

    show("controllers")


if __name__ == "__main__":
    main()
