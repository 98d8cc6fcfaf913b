"""kube-dns with 1,000 Services: queries per second and latency, against a trivial responder in the same run.

    .venv/bin/python -m bench.dns [--services 1000] [--rounds 3] [--seconds 5] [--window 32]

An apiserver (SQLite) gets `--services` ClusterIP Services in 10 namespaces, then a real kube-dns process
(`python -m kube_dns`, on loopback, not publishing its own Service) serves them. The load generator, in this
process, sends A queries for the Services' names (in a shuffled cycle over all of them) over UDP, keeping `--window`
queries outstanding, for `--seconds`, and times each query from its send to its answer, twice: once with the
Services' names as written (after the first pass over them kube-dns answers from the answers it keeps), once with
every letter's case drawn at random per query (DNS names are case-insensitive, so the answers are the same, but no
two queries have the same bytes: every answer is looked up and built anew). The baseline is the same
load generator against a responder that sends back one answer it made in advance, without reading the query
beyond its id: what this machine's UDP path and the load generator allow. Rounds alternate which goes first.
Then one query at a time (2,000 of them, every answer built anew) for the latency of an idle server.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.rrset

from bench.common import alternate, control_plane, free_port, summarize
from bench.options import bench_options
from bench.record import Recording, ratio, target
from tests.harness import stop_process
from tests.polling import wait_until

NAMESPACES = 10


class _Load(asyncio.DatagramProtocol):
    """Keeps `window` queries in flight until `deadline`; collects each one's latency in seconds."""

    def __init__(self, wires: list[bytes], window: int, deadline: float) -> None:
        self.wires = wires
        self.window = window
        self.deadline = deadline
        self.latencies: list[float] = []
        self.sent: dict[int, float] = {}
        self.next_id = 0
        self.index = 0
        self.done = asyncio.get_running_loop().create_future()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        for _ in range(self.window):
            self._send()

    def _send(self) -> None:
        assert self.transport is not None
        msg_id = self.next_id = (self.next_id + 1) & 0xFFFF
        wire = self.wires[self.index % len(self.wires)]
        self.index += 1
        self.sent[msg_id] = time.perf_counter()
        self.transport.sendto(msg_id.to_bytes(2, "big") + wire[2:])

    def datagram_received(self, data: bytes, addr: Any) -> None:
        now = time.perf_counter()
        start = self.sent.pop(int.from_bytes(data[:2], "big"), None)
        if start is not None:
            self.latencies.append(now - start)
        if now < self.deadline:
            self._send()
        elif not self.sent and not self.done.done():
            self.done.set_result(None)


async def load(port: int, wires: list[bytes], window: int, seconds: float) -> tuple[float, list[float], int]:
    """(answers per second, latencies, lost) for `seconds` of load with `window` queries outstanding."""
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _Load(wires, window, start + seconds), remote_addr=("127.0.0.1", port)
    )
    try:
        await asyncio.wait_for(proto.done, seconds + 2)
    except TimeoutError:
        pass  # some answers were lost (counted below)
    finally:
        transport.close()
    elapsed = time.perf_counter() - start
    return len(proto.latencies) / elapsed, proto.latencies, len(proto.sent)


class _Canned(asyncio.DatagramProtocol):
    """The baseline responder: one answer made in advance, sent back with the query's id."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data[:2] + self.answer[2:], addr)  # type: ignore[attr-defined]


def canned_responder(answer: bytes, port: int) -> None:
    """Run the baseline responder on 127.0.0.1:`port` in this (child) process, until killed."""

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: _Canned(answer), local_addr=("127.0.0.1", port))
        await asyncio.Event().wait()

    asyncio.run(serve())


def sequential(port: int, wires: list[bytes], count: int) -> list[float]:
    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        for i in range(count):
            wire = wires[i % len(wires)]
            start = time.perf_counter()
            s.send(wire)
            s.recv(4096)
            out.append(time.perf_counter() - start)
    return out


async def create_services(cp: Any, count: int) -> list[str]:
    names = []
    async with cp.http() as c:
        for i in range(NAMESPACES):
            await c.post("/api/v1/namespaces", json={"metadata": {"name": f"bench-{i}"}})
        sem = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            ns, name = f"bench-{i % NAMESPACES}", f"svc-{i}"
            body = {"metadata": {"name": name}, "spec": {"selector": {"app": name},
                                                         "ports": [{"name": "http", "port": 80}]}}  # fmt: skip
            async with sem:
                r = await c.post(f"/api/v1/namespaces/{ns}/services", json=body)
            r.raise_for_status()
            names.append(f"{name}.{ns}.svc.cluster.local.")

        await asyncio.gather(*(one(i) for i in range(count)))
    return names


# rates and latencies by side ("kube-dns", "uncached", "canned"), answers lost, idle latencies (kube-dns, canned)
Measured = tuple[dict[str, list[float]], dict[str, list[float]], int, list[float], list[float]]


def main() -> None:
    args = bench_options(__doc__, services=1000, rounds=3, seconds=5.0, window=32, sequential=2000)
    rec = Recording("dns", vars(args))
    record(rec, args, measure(args))


def measure(args: argparse.Namespace) -> Measured:
    """kube-dns (cached and uncached answers) against the canned responder: loaded rates and latencies by side,
    the answers lost, and the idle latencies of kube-dns and of the canned responder."""
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-dns-"))
    resolv = tmp / "resolv.conf"
    resolv.write_text("")  # no upstream: the benchmark asks only cluster names
    with control_plane("sqlite") as cp:
        names = asyncio.run(create_services(cp, args.services))
        random.Random(1).shuffle(names)
        wires = [dns.message.make_query(n, "A").to_wire() for n in names]
        dns_port, metrics_port, canned_port = free_port(), free_port(), free_port()
        proc, log = cp.start_component(
            "kube_dns",
            ["--bind-address", "127.0.0.1", "--dns-port", str(dns_port), "--metrics-port", str(metrics_port),
             "--no-publish", "--resolv-conf", str(resolv)],
            "bench-kube-dns",
        )  # fmt: skip
        answer = dns.message.make_response(dns.message.from_wire(wires[0]))
        answer.answer.append(dns.rrset.from_text(names[0], 5, "IN", "A", "10.96.0.1"))
        canned = multiprocessing.Process(
            target=canned_responder, args=(answer.to_wire(), canned_port), daemon=True
        )
        canned.start()
        try:
            last = names[-1]
            wait_until(lambda: _answers(dns_port, last), 60, 0.2, what="kube-dns to have every Service")
            mixed = mixed_case(names, 50_000)
            rates: dict[str, list[float]] = {"kube-dns": [], "uncached": [], "canned": []}
            lat: dict[str, list[float]] = {"kube-dns": [], "uncached": [], "canned": []}
            lost = 0
            asyncio.run(load(dns_port, wires, args.window, 1.0))  # warm-up
            for _, order in alternate("kube-dns", "canned", args.rounds):
                for side in (*order, "uncached"):
                    port = canned_port if side == "canned" else dns_port
                    queries = mixed if side == "uncached" else wires
                    rate, latencies, missing = asyncio.run(load(port, queries, args.window, args.seconds))
                    rates[side].append(rate)
                    lat[side] += latencies
                    lost += missing if side != "canned" else 0
            idle = sequential(dns_port, mixed, args.sequential)
            idle_canned = sequential(canned_port, wires, args.sequential)
        finally:
            canned.kill()
            stop_process(proc)
            log.unlink(missing_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
    return rates, lat, lost, idle, idle_canned


def record(rec: Recording, args: argparse.Namespace, measured: Measured) -> None:
    rates, lat, lost, idle, idle_canned = measured

    def med(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    ms = 1000.0
    figures = {
        "queries_per_s": med(rates["kube-dns"]),
        "p50_ms": summarize(lat["kube-dns"], "s")["p50"] * ms,
        "p99_ms": summarize(lat["kube-dns"], "s")["p99"] * ms,
        "uncached_queries_per_s": med(rates["uncached"]),
        "uncached_p50_ms": summarize(lat["uncached"], "s")["p50"] * ms,
        "uncached_p99_ms": summarize(lat["uncached"], "s")["p99"] * ms,
        "idle_p50_ms": summarize(idle, "s")["p50"] * ms,
        "idle_p99_ms": summarize(idle, "s")["p99"] * ms,
        "lost": lost,
    }
    baseline = {
        "queries_per_s": med(rates["canned"]),
        "p99_ms": summarize(lat["canned"], "s")["p99"] * ms,
        "idle_p99_ms": summarize(idle_canned, "s")["p99"] * ms,
    }
    rec.write(
        figures=figures,
        baseline=baseline,
        ratios={
            "qps_vs_canned": ratio("queries_per_s", "queries_per_s", figures, baseline),
            "uncached_qps_vs_canned": ratio("uncached_queries_per_s", "queries_per_s", figures, baseline),
        },
        targets=[
            target(
                ">= 2,000 queries/s with 1,000 Services, every answer built anew",
                "uncached_queries_per_s",
                ">=",
                2000,
                figures["uncached_queries_per_s"],
            ),
            target(
                f"p99 <= 10 ms with {args.window} queries in flight, every answer built anew",
                "uncached_p99_ms",
                "<=",
                10,
                figures["uncached_p99_ms"],
            ),
            target(
                "idle p99 <= 2 ms, every answer built anew", "idle_p99_ms", "<=", 2, figures["idle_p99_ms"]
            ),
        ],
        samples={
            "rate_per_round_kube_dns": summarize(rates["kube-dns"], "queries/s"),
            "rate_per_round_canned": summarize(rates["canned"], "queries/s"),
            "rate_per_round_uncached": summarize(rates["uncached"], "queries/s"),
            "latency_loaded_kube_dns": summarize(lat["kube-dns"], "s"),
            "latency_loaded_uncached": summarize(lat["uncached"], "s"),
            "latency_loaded_canned": summarize(lat["canned"], "s"),
            "latency_idle_kube_dns": summarize(idle, "s"),
            "latency_idle_canned": summarize(idle_canned, "s"),
        },
        notes=[
            "kube-dns answers from its informer caches (dnspython parses and builds every message); the canned "
            "responder only copies the query id into an answer made in advance",
            "the load generator runs in the benchmark's process on the same 2 cores as kube-dns and the apiserver",
        ],
    )


def mixed_case(names: list[str], count: int) -> list[bytes]:
    """`count` queries over `names`, each name with every letter's case drawn at random."""
    rng = random.Random(2)
    out = []
    for i in range(count):
        name = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in names[i % len(names)])
        out.append(dns.message.make_query(name, "A").to_wire())
    return out


def _answers(port: int, name: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        s.send(dns.message.make_query(name, "A").to_wire())
        return bool(dns.message.from_wire(s.recv(4096)).answer)


if __name__ == "__main__":
    main()
