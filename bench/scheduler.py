"""Scheduler throughput on hollow nodes, against the apiserver's own pod-create rate measured in the same run.

    .venv/bin/python bench/scheduler.py [--pods 1000] [--nodes 100] [--rounds 3] [--concurrency 8] [--kubeconfig PATH]

Starts etcd, the apiserver (bench/common.py), N hollow nodes and kube-scheduler, then alternates, for --rounds:
* create rate: create N pods that no scheduler picks up (schedulerName "bench-nobody") and time it: the
  apiserver's pod-create rate on this machine, now, with the same processes running;
* scheduling: watch the pods of a fresh namespace and create N pods as fast as possible. Per pod: creation ->
  binding as seen by that one watch (ADDED, then the first event with spec.nodeName). Throughput = N / (last
  binding - first creation).
Each round's pods are deleted after it. Then a paced run (--paced-pods at --paced-rate/s: the latency when creates
do not outrun the scheduler) and the backlog run (stop the scheduler, create N pods, start a fresh scheduler: its
own rate, first to last bind). Before the nodes start, --request-costs writes of each kind a scheduled pod costs
are timed for the apiserver's CPU. Writes bench/results/scheduler.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.events import object_reference
from apimachinery.resources import ResourceInfo, by_resource
from apimachinery.timefmt import now_rfc3339
from bench import cpu
from bench.common import alternate, control_plane, percentile, summarize
from bench.options import bench_parser
from bench.record import Recording, ratio, target
from kubelet.hollow import running_status
from scheduler.scheduler import binding
from tests.harness import free_port, stop_process


def _resource(name: str) -> ResourceInfo:
    res = by_resource("", name)
    assert res is not None
    return res


PODS, NAMESPACES, NODES, EVENTS = (_resource(n) for n in ("pods", "namespaces", "nodes", "events"))


def pod(name: str, scheduler: str = "default-scheduler") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {
            "schedulerName": scheduler,
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ],
        },
    }


async def create_all(
    client: Client, namespace: str, names: list[str], concurrency: int, scheduler: str, rate: float = 0
) -> float:
    """Create the pods with `concurrency` requests in flight (paced at `rate` pods/s if > 0); the wall time."""
    pending = iter(enumerate(names))
    started = time.perf_counter()

    async def worker() -> None:
        for index, name in pending:
            if rate > 0:
                await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
            for attempt in range(5):
                try:
                    await client.create(PODS, pod(name, scheduler), namespace)
                    break
                except StatusError as err:
                    if err.code not in (429, 500, 503, 504) or attempt == 4:
                        raise
                    await asyncio.sleep(0.1 * 2**attempt)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def create_namespace(client: Client, name: str) -> None:
    with contextlib.suppress(StatusError):
        await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def drop_pods(client: Client, namespace: str, names: list[str], concurrency: int) -> None:
    """Delete the pods at once (grace 0), so that rounds do not fill the nodes or slow each other."""
    semaphore = asyncio.Semaphore(concurrency)

    async def drop(name: str) -> None:
        async with semaphore:
            with contextlib.suppress(StatusError):  # already gone
                await client.delete(PODS, name, namespace, grace_period_seconds=0)

    await asyncio.gather(*(drop(n) for n in names))


async def measure_create_rate(
    client: Client, count: int, concurrency: int, pids: dict[str, int]
) -> dict[str, Any]:
    """Pods/s of creating `count` pods that no scheduler picks up (schedulerName "bench-nobody"), and the CPU
    seconds each process and the machine spent while they were created."""
    namespace = f"bench-create-{uuid.uuid4().hex[:6]}"
    await create_namespace(client, namespace)
    names = [f"c-{i}" for i in range(count)]
    before = cpu.snapshot(pids, children=True)
    seconds = await create_all(client, namespace, names, concurrency, "bench-nobody")
    window = cpu.spent(before, cpu.snapshot(pids, children=True))
    await drop_pods(client, namespace, names, concurrency)
    return {"pods_per_second": count / seconds, "seconds": seconds, "window_cpu_seconds": window}


async def wait_nodes_ready(client: Client, prefix: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nodes = (await client.list(NODES))["items"]
        ready = [
            n
            for n in nodes
            if n["metadata"]["name"].startswith(prefix)
            and any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        ]
        if len(ready) >= count:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{count} hollow nodes not Ready after {timeout}s")


async def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url, timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


async def request_costs(client: Client, count: int, concurrency: int, pid: int) -> dict[str, float]:
    """The apiserver's CPU ms per write of each kind a scheduled pod costs, `count` of each with `concurrency` in
    flight and nothing else watching: pod creates, their bindings (the scheduler's body), their status updates
    (the hollow node's patch) and Scheduled events."""
    namespace = f"bench-costs-{uuid.uuid4().hex[:6]}"
    await create_namespace(client, namespace)
    names = [f"w-{i}" for i in range(count)]
    pods: dict[str, dict[str, Any]] = {}

    async def create(name: str) -> None:
        pods[name] = await client.create(PODS, pod(name, "bench-nobody"), namespace)

    async def bind(name: str) -> None:
        await client.create(PODS, binding(pods[name], "bench-costs-node"), namespace, "binding")

    async def status(name: str) -> None:
        body = {"status": running_status(pods[name], "10.255.0.2", now_rfc3339())}
        await client.patch(PODS, name, body, namespace, subresource="status")

    async def event(name: str) -> None:
        await client.create(EVENTS, scheduled_event(pods[name]), namespace)

    costs: dict[str, float] = {}
    for kind, write in (("create", create), ("binding", bind), ("status", status), ("event", event)):
        pending = iter(names)

        async def worker(write: Any = write, pending: Any = pending) -> None:
            for name in pending:
                await write(name)

        before = cpu.process_seconds(pid, children=True)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        costs[kind] = 1000 * (cpu.process_seconds(pid, children=True) - before) / count
    await drop_pods(client, namespace, names, concurrency)
    return costs


def scheduled_event(pod: dict[str, Any]) -> dict[str, Any]:
    """A Scheduled event about `pod`, the body the scheduler's recorder writes (apimachinery/events.py)."""
    meta, stamp = pod["metadata"], now_rfc3339()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
        "involvedObject": object_reference({**pod, "kind": "Pod", "apiVersion": "v1"}),
        "reason": "Scheduled",
        "message": f"Successfully assigned {meta['namespace']}/{meta['name']} to bench-costs-node",
        "type": "Normal",
        "source": {"component": "default-scheduler", "host": "bench"},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "reportingComponent": "default-scheduler",
        "reportingInstance": "bench",
    }


class Binds:
    """One watch on a namespace's pods: when each pod was first seen, and when first seen with a node."""

    def __init__(self, client: Client, namespace: str, count: int) -> None:
        self.client, self.namespace, self.count = client, namespace, count
        self.added: dict[str, float] = {}
        self.bound: dict[str, float] = {}
        self.done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        listed = await self.client.list(PODS, self.namespace)
        self._task = asyncio.create_task(self._observe(listed["metadata"]["resourceVersion"]))

    async def _observe(self, rv: str) -> None:
        async for _type, obj in self.client.watch(PODS, self.namespace, resource_version=rv):
            now = time.perf_counter()
            name = obj["metadata"]["name"]
            self.added.setdefault(name, now)
            if obj.get("spec", {}).get("nodeName") and name not in self.bound:
                self.bound[name] = now
                if len(self.bound) == self.count:
                    self.done.set()
                    return

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
        finally:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task


async def wait_scheduled_events(
    client: Client, namespace: str, count: int, seen: int, timeout: float = 60
) -> float:
    """Seconds until `count` Scheduled events exist in the namespace (polled every 0.5 s, `timeout` at most)."""
    started = time.perf_counter()
    while seen < count and time.perf_counter() - started < timeout:
        await asyncio.sleep(0.5)  # a list of up to --pods events: not too often
        events = await client.list(EVENTS, namespace)
        seen = sum(1 for e in events["items"] if e.get("reason") == "Scheduled")
    return time.perf_counter() - started


async def stream_run(
    client: Client, count: int, concurrency: int, pids: dict[str, int], timeout: float, rate: float = 0
) -> dict[str, Any]:
    """Pods created while the scheduler runs: throughput, each pod's creation -> binding latency, CPU seconds of
    each process. The pods are deleted afterwards."""
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    await create_namespace(client, namespace)
    binds = Binds(client, namespace, count)
    await binds.start()
    cpu_before = cpu.snapshot(pids, children=True)
    names = [f"p-{i}" for i in range(count)]
    create_seconds = await create_all(client, namespace, names, concurrency, "default-scheduler", rate)
    await binds.wait(timeout)
    window = cpu.spent(cpu_before, cpu.snapshot(pids, children=True))  # first create to last binding
    events = await client.list(EVENTS, namespace)
    scheduled_when_bound = sum(1 for e in events["items"] if e.get("reason") == "Scheduled")
    # The scheduler may still be writing events (rate-limited): wait for them, so that they neither go uncounted
    # in its CPU nor slow the next round's create rate.
    events_seconds = await wait_scheduled_events(client, namespace, count, scheduled_when_bound)
    cpu_after = cpu.snapshot(pids, children=True)
    span = max(binds.bound.values()) - min(binds.added.values())
    await drop_pods(client, namespace, names, concurrency)
    return {
        "create_pods_per_second": count / create_seconds,
        "pods_per_second": count / span,
        "latencies": [binds.bound[n] - binds.added[n] for n in names],
        "cpu_seconds": {name: cpu_after[name] - cpu_before[name] for name in pids},
        "window_cpu_seconds": window,
        "window_seconds": span,
        "scheduled_events": scheduled_when_bound,
        "events_after_last_bind_s": events_seconds,
    }


async def backlog_run(
    client: Client, count: int, concurrency: int, start_scheduler: Any, timeout: float
) -> dict[str, Any]:
    """Pods created while no scheduler runs, then one starts: the scheduler's own rate, first to last bind."""
    namespace = f"bench-backlog-{uuid.uuid4().hex[:6]}"
    await create_namespace(client, namespace)
    binds = Binds(client, namespace, count)
    await binds.start()
    await create_all(client, namespace, [f"b-{i}" for i in range(count)], concurrency, "default-scheduler")
    started = time.perf_counter()
    await start_scheduler()
    await binds.wait(timeout)
    first, last = min(binds.bound.values()), max(binds.bound.values())
    return {
        "pods": count,
        "seconds_first_to_last_bind": last - first,
        "pods_per_second": (count - 1) / (last - first),
        "seconds_from_scheduler_start": last - started,
    }


def scrape(url: str) -> dict[str, float]:
    """The scheduler's own view: attempts by result and average algorithm / binding time."""
    values: dict[str, float] = {}
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)

    def total(series: str) -> float:  # summed over every label set
        return sum(v for k, v in values.items() if k == series or k.startswith(series + "{"))

    def avg(metric: str) -> float:
        count = total(f"{metric}_count")
        return total(f"{metric}_sum") / count if count else float("nan")

    return {
        "attempts_scheduled": values.get(
            'scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"}', 0.0
        ),
        "attempts_unschedulable": values.get(
            'scheduler_schedule_attempts_total{profile="default-scheduler",result="unschedulable"}', 0.0
        ),
        "attempts_error": values.get(
            'scheduler_schedule_attempts_total{profile="default-scheduler",result="error"}', 0.0
        ),
        "algorithm_avg_ms": 1000 * avg("scheduler_scheduling_algorithm_duration_seconds"),
        "binding_avg_ms": 1000 * avg("scheduler_binding_duration_seconds"),
        "e2e_avg_ms": 1000 * avg("scheduler_pod_scheduling_sli_duration_seconds"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement: alternating create-rate and scheduling rounds, a paced run, the backlog run."""
    with control_plane(kubeconfig=args.kubeconfig) as cp:
        client = cp.client("bench-scheduler")
        procs: list[tuple[str, Any, Path]] = []

        def start(name: str, module: str, argv: list[str]) -> Any:
            wrap: list[str] = []
            if args.profile_dir:  # python -m cProfile -o DIR/name.prof -m <module>
                args.profile_dir.mkdir(parents=True, exist_ok=True)
                wrap = ["cProfile", "-o", str(args.profile_dir / f"{name}.prof"), "-m"]
            proc, log = cp.start_component(module, argv, name, wrap=wrap)
            procs.append((name, proc, log))
            return proc

        async def start_scheduler(port: int) -> Any:
            proc = start("scheduler", "scheduler", ["--port", str(port), "--max-inflight-binds",
                                                    str(args.max_inflight_binds)])  # fmt: skip
            await wait_healthy(f"http://127.0.0.1:{port}/healthz")
            return proc

        try:
            costs = None
            if args.request_costs and cp.pid():
                costs = await request_costs(client, args.request_costs, args.concurrency, cp.pid() or 0)
            prefix = f"bench-{uuid.uuid4().hex[:4]}-"
            hollow = start("hollow", "kubelet.hollow", ["--count", str(args.nodes), "--name-prefix", prefix])
            await wait_nodes_ready(client, prefix, args.nodes)
            port = free_port()
            sched = await start_scheduler(port)
            pids = {"scheduler": sched.pid, "hollow-nodes": hollow.pid, "bench (client)": os.getpid()}
            for name, pid in (
                ("apiserver", cp.pid()),
                ("etcd", cp.etcd.proc.pid if cp.etcd and cp.etcd.proc else None),
            ):
                if pid:
                    pids[name] = pid
            creates: list[dict[str, Any]] = []
            streams: list[dict[str, Any]] = []
            for _r, order in alternate("create", "schedule", args.rounds):
                for side in order:
                    if side == "create":
                        creates.append(await measure_create_rate(client, args.pods, args.concurrency, pids))
                    else:
                        streams.append(
                            await stream_run(client, args.pods, args.concurrency, pids, args.timeout)
                        )
            metrics = scrape(f"http://127.0.0.1:{port}/metrics")
            paced = None
            if args.paced_pods:
                paced = await stream_run(client, args.paced_pods, args.concurrency, pids, args.timeout,
                                         args.paced_rate)  # fmt: skip
            backlog = None
            if not args.no_backlog:
                stop_process(sched, timeout=30)
                backlog = await backlog_run(
                    client, args.pods, args.concurrency, lambda: start_scheduler(free_port()), args.timeout
                )
        finally:
            await client.aclose()
            for _name, proc, _log in reversed(procs):
                stop_process(proc, timeout=30)  # a profiled process writes its profile on the way out
            for name, proc, log in procs:
                if proc.returncode not in (0, None):
                    print(f"{name} exited {proc.returncode}; log tail:", file=sys.stderr)
                    print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                if args.keep_logs:
                    print(f"log of {name}: {log}", file=sys.stderr)
                else:
                    log.unlink(missing_ok=True)
    return {
        "creates": creates,
        "streams": streams,
        "metrics": metrics,
        "paced": paced,
        "backlog": backlog,
        "costs": costs,
    }


def window_figures(creates: list[dict[str, Any]], streams: list[dict[str, Any]], pods: int) -> dict[str, Any]:
    """Where the CPU went while each kind of round was timed (a create round's creates; a scheduling round's
    first create to last binding), per pod and for the whole machine, over all rounds of the kind. On a machine
    that is busy throughout both windows, the scheduling rate can be at most the create rate times the machine's
    CPU per created pod over its CPU per scheduled pod (`cpu_bound_ratio`)."""

    def per_pod(windows: list[dict[str, float]]) -> dict[str, float]:
        return {name: 1000 * sum(w[name] for w in windows) / (pods * len(windows)) for name in windows[0]}

    created = per_pod([c["window_cpu_seconds"] for c in creates])
    scheduled = per_pod([s["window_cpu_seconds"] for s in streams])
    return {
        "window_cpu_ms_per_pod": {"create round": created, "scheduling round": scheduled},
        "machine_busy_cores": {
            "create round": sum(c["window_cpu_seconds"]["machine"] for c in creates)
            / sum(c["seconds"] for c in creates),
            "scheduling round": sum(s["window_cpu_seconds"]["machine"] for s in streams)
            / sum(s["window_seconds"] for s in streams),
        },
        "cpu_bound_ratio": created["machine"] / scheduled["machine"],
    }


def record(rec: Recording, m: dict[str, Any], args: argparse.Namespace) -> None:
    streams = m["streams"]
    creates = [c["pods_per_second"] for c in m["creates"]]
    latencies = [x for s in streams for x in s["latencies"]]
    rates = [s["pods_per_second"] for s in streams]
    figures: dict[str, Any] = {
        "scheduling_pods_per_s": statistics.median(rates),
        "create_rate_during_scheduling_pods_per_s": statistics.median(
            s["create_pods_per_second"] for s in streams
        ),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p99_s": percentile(latencies, 99),
        "algorithm_avg_ms": m["metrics"]["algorithm_avg_ms"],
        "binding_avg_ms": m["metrics"]["binding_avg_ms"],
        "scheduled_events_when_all_bound": min(s["scheduled_events"] for s in streams),
        "scheduled_events_complete_after_last_bind_s": max(s["events_after_last_bind_s"] for s in streams),
        "cpu_seconds_per_pod_ms": {
            name: 1000 * sum(s["cpu_seconds"][name] for s in streams) / (args.pods * len(streams))
            for name in streams[0]["cpu_seconds"]
        },
        **window_figures(m["creates"], streams, args.pods),
    }
    if m["paced"]:
        figures["paced_rate_pods_per_s"] = args.paced_rate
        figures["paced_latency_p50_s"] = percentile(m["paced"]["latencies"], 50)
        figures["paced_latency_p99_s"] = percentile(m["paced"]["latencies"], 99)
    if m["backlog"]:
        figures["backlog_pods_per_s"] = m["backlog"]["pods_per_second"]
    if m["costs"]:
        figures["apiserver_cpu_ms_per_write"] = m["costs"]
    baseline = {"create_pods_per_s": statistics.median(creates)}
    ratios = {"scheduling_vs_create": ratio("scheduling_pods_per_s", "create_pods_per_s", figures, baseline)}
    targets = [
        target(">= 100 pods/s", "scheduling_pods_per_s", ">=", 100, figures["scheduling_pods_per_s"]),
        target(">= 50% of the create rate", "scheduling_vs_create", ">=", 0.5, ratios["scheduling_vs_create"]["value"]),
    ]  # fmt: skip
    samples = {
        "create_pods_per_s (per round)": summarize(creates, "1/s"),
        "scheduling_pods_per_s (per round)": summarize(rates, "1/s"),
        "scheduling_vs_create (per round)": summarize(
            [s / c for s, c in zip(rates, creates, strict=True)], "ratio"
        ),
        "creation_to_binding_s (per pod)": summarize(latencies, "s"),
    }
    if m["paced"]:
        samples["paced creation_to_binding_s (per pod)"] = summarize(m["paced"]["latencies"], "s")
    notes = [
        "Create-rate and scheduling rounds alternate (create first in even rounds) with the scheduler and the hollow "
        "nodes running throughout: the create rate is the apiserver's with the same processes watching. "
        "Rates are medians over rounds; latencies are over every pod of every round.",
        "Each scheduled pod costs the apiserver four writes (create, binding, Scheduled event, the hollow node's "
        "status update) where the create-rate round costs one. The scheduler writes its events at 50/s (burst 100, "
        "as kube-scheduler's own event client): during a burst they queue; after each round the bench waits until "
        "every Scheduled event exists (scheduled_events_complete_after_last_bind_s) before the next round starts.",
        "window_cpu_ms_per_pod: the CPU each process and the whole machine (/proc/stat, not idle) spent per pod while "
        "a round was timed: a create round's creates, a scheduling round's first create to last binding; "
        "machine_busy_cores: the machine's CPU over those windows' wall time (2 = both cores busy throughout). "
        "cpu_bound_ratio: the machine's CPU per created pod over its CPU per scheduled pod, the most the ratio can "
        "be while both windows keep the machine busy.",
    ]
    if m["costs"]:
        notes.append(
            "apiserver_cpu_ms_per_write: before the nodes and the scheduler start, the apiserver's CPU per write of "
            "each kind a scheduled pod costs (create, binding, the hollow node's status patch, the Scheduled event), "
            "--request-costs of each. While the apiserver is the bound, the ratio stays near create / (create + "
            "binding + status + the share of events written within the round)."
        )
    rec.write(
        figures=figures, baseline=baseline, ratios=ratios, targets=targets, samples=samples, notes=notes
    )


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="alternating create-rate / scheduling rounds")
    parser.add_argument("--concurrency", type=int, default=8, help="create requests in flight")
    parser.add_argument(
        "--kubeconfig", default=None, help="use this cluster (an admin's kubeconfig) instead of starting one"
    )
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--profile-dir", type=Path, default=None, help="cProfile scheduler and hollow nodes")
    parser.add_argument("--paced-pods", type=int, default=500, help="pods of the paced run (0: none)")
    parser.add_argument("--paced-rate", type=float, default=50, help="creates per second in the paced run")
    parser.add_argument("--max-inflight-binds", type=int, default=32, help="passed to kube-scheduler")
    parser.add_argument("--no-backlog", action="store_true", help="skip the all-pending-then-schedule run")
    parser.add_argument(
        "--request-costs",
        type=int,
        default=1000,
        help="writes of each kind timed for the apiserver CPU (0: none)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the component logs (paths on stderr)")
    args = parser.parse_args()
    rec = Recording("scheduler", {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
    measured = asyncio.run(run(args))
    record(rec, measured, args)
    from bench.report import show

    show("scheduler")


if __name__ == "__main__":
    main()
