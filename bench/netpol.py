"""Network policies: how soon a change is enforced, and what 500 policies cost in sync time and in request latency
through the node, against no policies in the same run.

    flock /tmp/kubelite-host.lock .venv/bin/python -m bench.netpol [--policies 500] [--requests 2000] [--rounds 4]

Needs root, iptables, ipset and Docker (run it under the host lock). Starts its own etcd, apiserver, one real
kubelet and kube-netpol (bench/common.py; kube-netpol as its own identity, with its default sync periods), an
httpd server pod and a client pod. The client's packets come from bench/netprobe.py run inside the client pod's network namespace
(`nsenter`), so they cross the node's FORWARD chain exactly as the pod's own do.

1. Enforcement: a probe in the client connects to the server every 5 ms and reports when the outcome changes.
   Each of `--enforcement-rounds` rounds creates a default deny (time to refused), creates an allow rule for the
   client's label (time to open), flips the client's label away and back (refused, open), deletes the allow and
   the deny (refused, open). Steps are spaced by more than --min-sync-period (0.5 s), so each measures a change
   after a quiet spell; a burst waits at most that long more.
2. Latency: `--requests` sequential HTTP/1.0 GETs from the client, each on a new connection (every SYN walks the
   policy chains), with no policies and with `--policies` policies that all select the server: each lets in a
   label no pod has, except the last in chain order, which lets the client in (the worst case: the client's SYN
   passes every other policy's chain first). The two alternate over `--rounds` rounds.
3. Sync time: the agent's own per-sync durations (its "synced" log lines) for the burst of `--policies` creates,
   for one full rewrite with all of them (a restarted agent), and for a label change with and without them.

Writes bench/results/netpol.json (bench/record.py) and prints the README's block. Traffic goes only between the
benchmark's two pods; the agent's chains and sets are removed at the end (`kube-netpol --cleanup`).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, ControlPlane, alternate, benchmark_main, control_plane, kubelet, summarize
from bench.record import Recording, ratio, target
from tests import factories
from tests.cluster import guard_route_restored, running_nodes
from tests.factories import network_policy
from tests.images import BUSYBOX_IMAGE, ensure_images
from tests.integration.netpol.helpers import NetpolProc, agent_args
from tests.polling import wait_until

Obj = dict[str, Any]
NS = "bench-netpol"
POLICIES = f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies"
SERVE = "mkdir -p /www && echo srv > /www/index.html && exec httpd -f -p 8080 -h /www"


def pod(name: str, node: str, labels: dict[str, str], command: list[str]) -> Obj:
    box = factories.container("c", BUSYBOX_IMAGE, command=command)
    return factories.pod(name, labels, node=node, containers=[box], terminationGracePeriodSeconds=0)


DENY = network_policy("deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
ALLOW = network_policy(
    "allow",
    {
        "podSelector": {"matchLabels": {"app": "server"}},
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": {"role": "client"}}}], "ports": [{"port": 8080}]}
        ],
    },
)


def many(count: int) -> list[Obj]:
    """`count` policies selecting the server; each lets in a label no pod has but the last, which lets the client
    in (names sort in that order, and so do their jumps in the server's chain)."""
    out = []
    for i in range(count):
        peer = {"role": "client"} if i == count - 1 else {"bench-peer": f"p{i}"}
        spec = {
            "podSelector": {"matchLabels": {"app": "server"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": peer}}], "ports": [{"port": 8080}]}],
        }
        out.append(network_policy(f"np-{i:04d}", spec))
    return out


class Probe:
    """bench/netprobe.py in the client pod's network namespace."""

    def __init__(self, pid: int) -> None:
        self.prefix = ["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-m", "bench.netprobe"]

    def latency(self, ip: str, count: int) -> list[float]:
        out = subprocess.run([*self.prefix, "latency", ip, "8080", str(count)], capture_output=True, text=True,
                             cwd=REPO, timeout=600, check=True)  # fmt: skip
        return list(json.loads(out.stdout))

    def watch(self, ip: str, seconds: float) -> tuple[subprocess.Popen[str], queue.Queue[Obj]]:
        proc = subprocess.Popen([*self.prefix, "watch", ip, "8080", str(seconds)], stdout=subprocess.PIPE, text=True,
                                cwd=REPO)  # fmt: skip
        lines: queue.Queue[Obj] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(json.loads(line))

        threading.Thread(target=pump, daemon=True).start()
        return proc, lines


def until(lines: queue.Queue[Obj], open_: bool, timeout: float = 10) -> float:
    """The monotonic time the probe first saw the connection `open_` (open, or refused)."""
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if line["open"] is open_:
            return float(line["t"])


def enforcement(api: httpx.Client, probe: Probe, ip: str, rounds: int) -> dict[str, list[float]]:
    """Seconds from each change (the API call's return) to the probe seeing its effect."""
    samples: dict[str, list[float]] = {"policy_create": [], "label_change": [], "policy_delete": []}
    proc, lines = probe.watch(ip, rounds * 10 + 30)
    labels = f"/api/v1/namespaces/{NS}/pods/client"
    merge = {"Content-Type": "application/merge-patch+json"}
    steps = [
        ("policy_create", lambda: api.post(POLICIES, json=DENY), False),
        ("policy_create", lambda: api.post(POLICIES, json=ALLOW), True),
        ("label_change", lambda: api.patch(labels, json={"metadata": {"labels": {"role": "x"}}}, headers=merge), False),
        ("label_change", lambda: api.patch(labels, json={"metadata": {"labels": {"role": "client"}}}, headers=merge), True),
        ("policy_delete", lambda: api.delete(f"{POLICIES}/allow"), False),
        ("policy_delete", lambda: api.delete(f"{POLICIES}/deny"), True),
    ]  # fmt: skip
    try:
        until(lines, True, 30)
        for _ in range(rounds):
            for kind, change, open_ in steps:
                time.sleep(0.6)  # more than --min-sync-period: each change comes after a quiet spell
                start = time.monotonic()
                change().raise_for_status()
                try:
                    samples[kind].append(until(lines, open_) - start)
                except queue.Empty:
                    raise AssertionError(
                        f"{kind}: the client never saw the connection {'open' if open_ else 'refused'}"
                    ) from None
    finally:
        proc.kill()
        proc.wait()
    return samples


async def create_all(cp: ControlPlane, objs: list[Obj], concurrency: int = 16) -> float:
    pending: asyncio.Queue[Obj] = asyncio.Queue()
    for obj in objs:
        pending.put_nowait(obj)
    async with cp.http(timeout=30) as c:

        async def worker() -> None:
            while not pending.empty():
                (await c.post(POLICIES, json=pending.get_nowait())).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def programmed(agent: NetpolProc, count: int) -> bool:
    return agent.metrics().get("netpol_policies_programmed") == count


def settle(agent: NetpolProc, quiet: float = 1.0) -> None:
    """Wait until the agent has not synced for `quiet` seconds: a measurement must not share the machine's two
    cores with the agent and the apiserver still working through a burst."""

    def syncs() -> float:
        return agent.metrics().get("netpol_sync_duration_seconds_count", 0.0)

    def still() -> bool:
        before = syncs()
        time.sleep(quiet)
        return syncs() == before

    wait_until(still, 60, 0, what="the agent quiet")


def sync_seconds(agent: NetpolProc, since: int = 0) -> list[tuple[bool, float]]:
    """(full, seconds) of every sync in the agent's log after its first `since` syncs."""
    out = []
    for line in agent.logs().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "synced":
            out.append((bool(entry["full"]), float(entry["seconds"])))
    return out[since:]


def label_sync(api: httpx.Client, agent: NetpolProc, ip: str, probe: Probe) -> float:
    """One sync after a label change (of a pod no policy names: the plan is rebuilt, the sets stay)."""
    before = len(sync_seconds(agent))
    merge = {"Content-Type": "application/merge-patch+json"}
    value = uuid.uuid4().hex[:8]
    api.patch(f"/api/v1/namespaces/{NS}/pods/server", json={"metadata": {"labels": {"touch": value}}},
              headers=merge).raise_for_status()  # fmt: skip
    wait_until(lambda: len(sync_seconds(agent)) > before, 10, 0.05, what="a sync after the label change")
    return sync_seconds(agent, before)[0][1]


def measure(
    cp: ControlPlane, api: httpx.Client, agent: NetpolProc, node: str, args: argparse.Namespace
) -> Obj:
    """A server and a client pod on `node`, then every measurement between them."""
    report: Obj = {}
    api.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).raise_for_status()
    for obj in (pod("server", node, {"app": "server"}, ["sh", "-c", SERVE]),
                pod("client", node, {"role": "client"}, ["sleep", "3600"])):  # fmt: skip
        api.post(f"/api/v1/namespaces/{NS}/pods", json=obj).raise_for_status()

    def running(name: str) -> Obj | None:
        p = api.get(f"/api/v1/namespaces/{NS}/pods/{name}").json()
        return p if (p.get("status") or {}).get("phase") == "Running" else None

    server, client = (
        wait_until(functools.partial(running, n), 60, 0.2, what=n) for n in ("server", "client")
    )
    ip = server["status"]["podIP"]
    cid = client["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")
    pid = int(subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", cid], capture_output=True,
                             text=True, check=True).stdout)  # fmt: skip
    probe = Probe(pid)
    wait_until(lambda: probe.latency(ip, 1), 30, 0.2, what="the server answering the client")
    report["enforcement"] = enforcement(api, probe, ip, args.enforcement_rounds)
    report["label_sync_none_s"] = [label_sync(api, agent, ip, probe) for _ in range(5)]
    report["latency"] = latency(cp, api, agent, probe, ip, args)
    report["scale"] = scale(cp, api, agent, probe, ip, args)
    return report


def run(args: argparse.Namespace) -> dict[str, Any]:
    if os.geteuid() != 0 or not all(
        shutil.which(t) for t in ("iptables-restore", "ipset", "docker", "nsenter")
    ):
        sys.exit("bench/netpol.py needs root, iptables, ipset, nsenter and Docker")
    ensure_images()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-netpol-"))
    report: dict[str, Any] = {}
    with guard_route_restored(), control_plane() as cp:
        node = kubelet(cp, f"bnp{uuid.uuid4().hex[:4]}", "10.244.253.0/24", tmp)
        assert cp.apiserver is not None  # control_plane() started its own
        agent = NetpolProc(agent_args(cp.apiserver, node.name), [node.name],
                           extra=["--min-sync-period", "0.5", "--sync-period", "10"])  # fmt: skip
        try:
            with running_nodes([node]):
                try:
                    agent.start()
                    with cp.http_sync() as api:
                        report = measure(cp, api, agent, node.name, args)
                finally:
                    agent.cleanup()  # before the node goes: as before
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return report


def latency(cp: ControlPlane, api: httpx.Client, agent: NetpolProc, probe: Probe, ip: str,
            args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"none": [], "many": [], "round_ratios": []}
    per_round = args.requests // args.rounds
    for _r, order in alternate("none", "many", args.rounds):
        means = {}
        for state in order:
            api.delete(POLICIES).raise_for_status()  # the whole collection
            wait_until(lambda: programmed(agent, 0), 60, 0.2, what="no policies programmed")
            if state == "many":
                asyncio.run(create_all(cp, many(args.policies)))
                wait_until(lambda: programmed(agent, args.policies), 120, 0.2, what="all policies programmed")
            settle(agent)
            got = probe.latency(ip, per_round)
            out[state] += got
            means[state] = statistics.fmean(got)
        out["round_ratios"].append(means["many"] / means["none"])
    api.delete(POLICIES).raise_for_status()
    wait_until(lambda: programmed(agent, 0), 60, 0.2, what="no policies programmed")
    return out


def scale(cp: ControlPlane, api: httpx.Client, agent: NetpolProc, probe: Probe, ip: str,
          args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    before = len(sync_seconds(agent))
    start = time.perf_counter()
    create_s = asyncio.run(create_all(cp, many(args.policies)))
    wait_until(lambda: programmed(agent, args.policies), 120, 0.05, what="all policies programmed")
    program_s = time.perf_counter() - start
    burst = [s for _full, s in sync_seconds(agent, before)]
    metrics = agent.metrics()
    label = [label_sync(api, agent, ip, probe) for _ in range(5)]
    agent.stop()  # the rules stay; the restarted agent rewrites everything in its first (full) sync
    agent.start()
    full = next(s for is_full, s in sync_seconds(agent) if is_full)
    api.delete(POLICIES).raise_for_status()
    return {
        "create_s": create_s,
        "created_to_programmed_s": program_s,
        "syncs_during_creation": len(burst),
        "sync_during_creation_s": burst,
        "label_sync_s": label,
        "full_sync_s": full,
        "iptables_rules": metrics.get("netpol_iptables_rules"),
        "ipsets": metrics.get("netpol_ipsets"),
    }


def record(rec: Recording, report: dict[str, Any], args: argparse.Namespace) -> None:
    e, lat, sc = report["enforcement"], report["latency"], report["scale"]
    figures: dict[str, Any] = {
        **{f"{k}_p50_ms": 1000 * statistics.median(v) for k, v in e.items()},
        **{f"{k}_max_ms": 1000 * max(v) for k, v in e.items()},
        "many_mean_ms": 1000 * statistics.fmean(lat["many"]),
        "program_policies_s": sc["created_to_programmed_s"],
        "create_policies_s": sc["create_s"],
        "full_sync_many_s": sc["full_sync_s"],
        "label_sync_many_ms": 1000 * statistics.median(sc["label_sync_s"]),
        "iptables_rules": sc["iptables_rules"],
        "ipsets": sc["ipsets"],
        "syncs_during_creation": sc["syncs_during_creation"],
    }
    baseline = {
        "none_mean_ms": 1000 * statistics.fmean(lat["none"]),
        "label_sync_none_ms": 1000 * statistics.median(report["label_sync_none_s"]),
    }
    ratios = {
        "latency": ratio("many_mean_ms", "none_mean_ms", figures, baseline, shown="x"),
        "label_sync": ratio("label_sync_many_ms", "label_sync_none_ms", figures, baseline, shown="x"),
    }
    samples = {
        **{f"{k} (ms)": summarize([1000 * x for x in v], "ms") for k, v in e.items()},
        "no policies: request (ms)": summarize([1000 * x for x in lat["none"]], "ms"),
        f"{args.policies} policies: request (ms)": summarize([1000 * x for x in lat["many"]], "ms"),
        "mean ratio (per round)": summarize(lat["round_ratios"], "ratio"),
        "sync during creation (ms)": summarize([1000 * x for x in sc["sync_during_creation_s"]], "ms"),
    }
    figures["worst_enforcement_ms"] = 1000 * max(max(v) for v in e.values())
    targets = [
        target(
            "every change enforced within a second",
            "worst_enforcement_ms",
            "<=",
            1000,
            figures["worst_enforcement_ms"],
        ),
        target(
            f"request latency with {args.policies} policies <= 1.10x none",
            "latency",
            "<=",
            1.10,
            ratios["latency"]["value"],
        ),
    ]
    notes = [
        "Enforcement: from the API call's return to a probe in the client pod (a connect every 5 ms) seeing the "
        f"change; {args.enforcement_rounds} rounds of 6 changes, each after a quiet spell longer than the agent's "
        "--min-sync-period (0.5 s).",
        f"Latency: sequential HTTP/1.0 GETs from the client pod's network namespace, a new connection each, "
        f"{args.rounds} alternating blocks; with {args.policies} policies all selecting the server, the one that "
        "lets the client in last in chain order (worst case).",
        "Sync times are the agent's own (its 'synced' log lines): plan, ipset restore and iptables-restore.",
    ]
    rec.write(
        figures=figures, baseline=baseline, ratios=ratios, targets=targets, samples=samples, notes=notes
    )


def main() -> None:
    benchmark_main(
        __doc__ or "", "netpol", run, record, policies=500, requests=2000, rounds=4, enforcement_rounds=20
    )


if __name__ == "__main__":
    main()
