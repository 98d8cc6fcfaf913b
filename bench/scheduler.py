"""Scheduler throughput on hollow nodes, against the apiserver's own pod-create rate measured in the same run.

    .venv/bin/python bench/scheduler.py [--pods 1000] [--nodes 100] [--concurrency 8] [--kubeconfig PATH]

1. Ceiling: create N pods that no scheduler picks up (schedulerName "bench-nobody") and time it: the apiserver's
   pod-create rate on this machine, now.
2. Start N/10 hollow nodes and kube-scheduler, watch the pods of a fresh namespace and create N pods as fast as
   in step 1. Per pod: creation -> binding as seen by that one watch (ADDED, then the first event with
   spec.nodeName). Throughput = N / (last binding - first creation).
3. Backlog: stop the scheduler, create N more pods, start a fresh scheduler: its own rate, first to last bind
   (the apiserver then serves binds, events and hollow-node status writes, but no creates).
4. Print a table (plus the CPU seconds each process used during step 2, to show where the time goes) and write
   JSON to bench/results/.

Starts its own etcd and apiserver (tests/harness.py) unless --kubeconfig is given. Each scheduled pod costs the
apiserver four writes (create, binding, the Scheduled event, the hollow node's status update) where the ceiling
costs one, and every process here shares the same CPUs: read the ratio with that in mind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apimachinery.client import Client  # noqa: E402
from apimachinery.errors import StatusError  # noqa: E402
from apimachinery.resources import ResourceInfo, by_resource  # noqa: E402
from bench.common import percentile  # noqa: E402
from tests.harness import ApiServer, Etcd, free_port, start_component, stop_process  # noqa: E402


def _resource(name: str) -> ResourceInfo:
    res = by_resource("", name)
    assert res is not None
    return res


PODS, NAMESPACES, NODES, EVENTS = (_resource(n) for n in ("pods", "namespaces", "nodes", "events"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its waited-for children, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


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


async def measure_create_rate(client: Client, count: int, concurrency: int) -> dict[str, Any]:
    namespace = f"bench-create-{uuid.uuid4().hex[:6]}"
    await create_namespace(client, namespace)
    names = [f"c-{i}" for i in range(count)]
    seconds = await create_all(client, namespace, names, concurrency, "bench-nobody")
    # Out of the way before the scheduling run (unassigned pods are deleted at once).
    semaphore = asyncio.Semaphore(concurrency)

    async def drop(name: str) -> None:
        async with semaphore:
            with contextlib.suppress(StatusError):
                await client.delete(PODS, name, namespace, grace_period_seconds=0)

    await asyncio.gather(*(drop(n) for n in names))
    return {"pods": count, "seconds": seconds, "pods_per_second": count / seconds}


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


async def stream_run(
    client: Client, count: int, concurrency: int, pids: dict[str, int], timeout: float, rate: float = 0
) -> dict[str, Any]:
    """Pods created while the scheduler runs: throughput and creation -> binding latency."""
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    await create_namespace(client, namespace)
    binds = Binds(client, namespace, count)
    await binds.start()
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    names = [f"p-{i}" for i in range(count)]
    create_seconds = await create_all(client, namespace, names, concurrency, "default-scheduler", rate)
    await binds.wait(timeout)
    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    events = await client.list(EVENTS, namespace)
    scheduled_events = sum(1 for e in events["items"] if e.get("reason") == "Scheduled")
    latencies = [binds.bound[n] - binds.added[n] for n in names]
    span = max(binds.bound.values()) - min(binds.added.values())
    return {
        "pods": count,
        "create_seconds": create_seconds,
        "create_pods_per_second": count / create_seconds,
        "seconds": span,
        "pods_per_second": count / span,
        "latency_p50": percentile(latencies, 50),
        "latency_p90": percentile(latencies, 90),
        "latency_p99": percentile(latencies, 99),
        "latency_mean": statistics.fmean(latencies),
        "cpu_seconds": {name: round(cpu_after[name] - cpu_before[name], 2) for name in pids},
        "scheduled_events_when_all_bound": scheduled_events,
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

    def avg(metric: str) -> float:
        count = values.get(f"{metric}_count", 0.0)
        return values.get(f"{metric}_sum", 0.0) / count if count else float("nan")

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
        "e2e_avg_ms": 1000 * avg("scheduler_e2e_scheduling_duration_seconds"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    def profiled(name: str) -> list[str]:
        """`python -m cProfile -o DIR/name.prof -m <component>` when --profile-dir is given."""
        if not args.profile_dir:
            return []
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        return ["cProfile", "-o", str(args.profile_dir / f"{name}.prof"), "-m"]

    etcd = server = None
    procs: list[tuple[str, Any, Path]] = []
    load_before = os.getloadavg()
    try:
        if args.kubeconfig:
            kubeconfig = args.kubeconfig
        else:
            etcd = Etcd()
            etcd.start()
            server = ApiServer(etcd.url)
            server.start()
            kubeconfig = str(server.admin_kubeconfig)
        client = Client.from_args(kubeconfig=kubeconfig, user_agent="bench-scheduler")

        async def start(name: str, *argv: str) -> Any:
            proc, log = start_component([*profiled(name), *argv], name)
            procs.append((name, proc, log))
            return proc

        async def start_scheduler(port: int) -> Any:
            proc = await start(
                "scheduler",
                "scheduler",
                "--kubeconfig",
                kubeconfig,
                "--port",
                str(port),
                "--max-inflight-binds",
                str(args.max_inflight_binds),
            )
            await wait_healthy(f"http://127.0.0.1:{port}/healthz")
            return proc

        try:
            ceiling = await measure_create_rate(client, args.pods, args.concurrency)
            prefix = f"bench-{uuid.uuid4().hex[:4]}-"
            hollow = await start(
                "hollow",
                "kubelet.hollow",
                "--kubeconfig",
                kubeconfig,
                "--count",
                str(args.nodes),
                "--name-prefix",
                prefix,
            )
            await wait_nodes_ready(client, prefix, args.nodes)
            port = free_port()
            sched = await start_scheduler(port)
            pids = {"scheduler": sched.pid, "hollow-nodes": hollow.pid}
            if server is not None and server.proc is not None:
                pids["apiserver"] = server.proc.pid
            if etcd is not None and etcd.proc is not None:
                pids["etcd"] = etcd.proc.pid
            pids["bench (client)"] = os.getpid()
            stream = await stream_run(client, args.pods, args.concurrency, pids, args.timeout, args.rate)
            stream["scheduler_metrics"] = scrape(f"http://127.0.0.1:{port}/metrics")
            backlog = None
            if not args.no_backlog:
                stop_process(sched, timeout=30)
                backlog = await backlog_run(
                    client, args.pods, args.concurrency, lambda: start_scheduler(free_port()), args.timeout
                )
        finally:
            await client.aclose()
    finally:
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
        if server is not None:
            server.stop()
            server.log_path.unlink(missing_ok=True)
        if etcd is not None:
            etcd.destroy()
    return {
        "benchmark": "scheduler",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "params": {
            "pods": args.pods,
            "nodes": args.nodes,
            "concurrency": args.concurrency,
            "max_inflight_binds": args.max_inflight_binds,
            "rate": args.rate,
        },
        "apiserver_create": ceiling,
        "scheduling": stream,
        "ratio_to_create_rate": stream["pods_per_second"] / ceiling["pods_per_second"],
        "backlog": backlog,
    }


def table(report: dict[str, Any]) -> str:
    c, s, p = report["apiserver_create"], report["scheduling"], report["params"]
    m = s["scheduler_metrics"]
    rows = [
        ("apiserver pod-create rate (no scheduling)", f"{c['pods_per_second']:.0f} pods/s"),
        (
            "create rate during the scheduling run" + (f" (paced at {p['rate']:.0f}/s)" if p["rate"] else ""),
            f"{s['create_pods_per_second']:.0f} pods/s",
        ),
        ("scheduling throughput (created -> bound)", f"{s['pods_per_second']:.0f} pods/s"),
        ("  ratio to the create rate", f"{100 * report['ratio_to_create_rate']:.0f} %"),
        ("latency creation -> binding p50", f"{1000 * s['latency_p50']:.0f} ms"),
        ("latency creation -> binding p90", f"{1000 * s['latency_p90']:.0f} ms"),
        ("latency creation -> binding p99", f"{1000 * s['latency_p99']:.0f} ms"),
        ("scheduler: filter+score per pod (avg)", f"{m['algorithm_avg_ms']:.2f} ms"),
        ("scheduler: bind request (avg)", f"{m['binding_avg_ms']:.1f} ms"),
        (
            "scheduler: attempts scheduled/unsched/error",
            f"{m['attempts_scheduled']:.0f}/{m['attempts_unschedulable']:.0f}/{m['attempts_error']:.0f}",
        ),
    ]
    rows.append(("Scheduled events written when all were bound", f"{s['scheduled_events_when_all_bound']}"))
    rows += [
        (f"CPU during run: {name}", f"{sec:.1f} s, {1000 * sec / s['pods']:.1f} ms/pod")
        for name, sec in s["cpu_seconds"].items()
    ]
    if report.get("backlog"):
        b = report["backlog"]
        rows.append(
            ("backlog: all pods pending, then scheduler starts", f"{b['pods_per_second']:.0f} pods/s")
        )
    load = report["machine"]["loadavg_before"][0], report["machine"]["loadavg_after"][0]
    rows.append(("load average (1 min) before / after", f"{load[0]:.1f} / {load[1]:.1f}"))
    p = report["params"]
    width = max(len(r[0]) for r in rows)
    head = f"scheduler benchmark: {p['pods']} pods on {p['nodes']} hollow nodes, {report['machine']['cpus']} CPUs"
    return "\n".join([head, "-" * len(head), *(f"{k:<{width}}  {v:>14}" for k, v in rows)])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8, help="create requests in flight")
    parser.add_argument(
        "--kubeconfig", default=None, help="use this cluster (an admin kubeconfig) instead of starting one"
    )
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--profile-dir", type=Path, default=None, help="cProfile scheduler and hollow nodes")
    parser.add_argument(
        "--rate", type=float, default=0, help="pace the scheduling run's creates (pods/s; 0: max)"
    )
    parser.add_argument("--max-inflight-binds", type=int, default=8, help="passed to kube-scheduler")
    parser.add_argument("--no-backlog", action="store_true", help="skip the all-pending-then-schedule run")
    parser.add_argument("--keep-logs", action="store_true", help="keep the component logs (paths on stderr)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(table(report))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"scheduler-{report['date'].replace(':', '').replace('-', '')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main()
