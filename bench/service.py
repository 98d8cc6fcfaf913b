"""Service proxy overhead against direct pod access in the same run, and the time to program 1,000 services.

    .venv/bin/python bench/service.py [--requests 1000] [--services 1000] [--rounds 5]

Needs root, iptables, Docker and the CNI plugins (like the e2e tests). Starts its own etcd, apiserver, one real
kubelet and kube-proxy (tests/harness.py and the e2e helpers), and one busybox httpd pod.

1. Latency: `--requests` sequential HTTP/1.0 GETs from this host, each on a new TCP connection (so every request
   pays the per-connection cost of the proxy: conntrack + DNAT, or the userspace accept + connect), directly to
   the pod IP and through the service's cluster IP. Direct and proxied requests alternate in `--rounds` blocks,
   so drift of the machine hits both alike. Phase A: kube-proxy in iptables mode; phase B: userspace mode.
2. Programming: with kube-proxy in iptables mode, create `--services` selector-less services and their Endpoints
   (2 addresses each; no traffic is sent to them) as fast as the apiserver takes them; time until iptables-save
   shows every one of them, then the time of one full rewrite (kube-proxy restarted with all of them present).
3. Print a table and write JSON to bench/results/.

Traffic goes only to the pod, to the service address (guard-routed to a local device) and to loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.kubelet.conftest import CLUSTER_CIDR, KubeletProc, cleanup_node  # noqa: E402
from tests.harness import ApiServer, Etcd, admin_tls, free_port, wait_until  # noqa: E402
from tests.images import BUSYBOX_IMAGE, ensure_images  # noqa: E402
from tests.integration.proxy.helpers import KubeProxyProc, iptables_save  # noqa: E402

Obj = dict[str, Any]
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def one_request(ip: str, port: int) -> float:
    """One GET on a fresh connection; returns seconds from connect() to the server closing it."""
    start = time.perf_counter()
    with socket.create_connection((ip, port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(REQUEST)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    elapsed = time.perf_counter() - start
    if not data.startswith(b"HTTP/1.") or b" 200 " not in data.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"bad response from {ip}:{port}: {data[:80]!r}")
    return elapsed


def summary(samples: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "requests": len(samples),
        "mean_ms": 1000 * statistics.fmean(samples),
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p95_ms": 1000 * ordered[int(len(ordered) * 0.95)],
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "requests_per_second": len(samples) / wall,
    }


def compare(direct: tuple[str, int], proxied: tuple[str, int], total: int, rounds: int) -> dict[str, Any]:
    """Alternate blocks of sequential requests to `direct` and `proxied`; per-target latency and rate."""
    for target in (direct, proxied):
        for _ in range(50):  # warm-up: ARP, conntrack, the httpd's page cache
            one_request(*target)
    samples: dict[str, list[float]] = {"direct": [], "proxied": []}
    walls = {"direct": 0.0, "proxied": 0.0}
    per_round = total // rounds
    for _ in range(rounds):
        for name, target in (("direct", direct), ("proxied", proxied)):
            start = time.perf_counter()
            samples[name] += [one_request(*target) for _ in range(per_round)]
            walls[name] += time.perf_counter() - start
    d, p = summary(samples["direct"], walls["direct"]), summary(samples["proxied"], walls["proxied"])
    return {
        "direct": d,
        "proxied": p,
        "latency_ratio": p["mean_ms"] / d["mean_ms"],
        "p50_ratio": p["p50_ms"] / d["p50_ms"],
    }


def httpd_pod(node: str) -> Obj:
    return {
        "metadata": {"name": "srv", "labels": {"app": "srv"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,  # no controller-manager here to publish kube-root-ca.crt
            "containers": [
                {
                    "name": "httpd",
                    "image": BUSYBOX_IMAGE,
                    "command": [
                        "sh",
                        "-c",
                        "mkdir -p /www && echo srv > /www/index.html && exec httpd -f -p 8080 -h /www",
                    ],
                }
            ],
        },
    }


def service(name: str) -> Obj:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}


def endpoints(name: str, ips: list[str]) -> Obj:
    return {
        "metadata": {"name": name},
        "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 8080}]}],
    }


def programmed(ns: str) -> int:
    """How many services of `ns` have their cluster-IP rule in the nat table."""
    return len(re.findall(rf'--comment "{re.escape(ns)}/[^"]* cluster IP"', iptables_save("nat")))


async def create_services(url: str, ns: str, count: int, concurrency: int = 16) -> float:
    """Create `count` services and their Endpoints (2 made-up pod addresses each); returns the seconds it took."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    async with httpx.AsyncClient(verify=admin_tls(), base_url=url, timeout=30) as c:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                r = await c.post(f"/api/v1/namespaces/{ns}/services", json=service(f"s{i}"))
                r.raise_for_status()
                ips = [f"10.244.{200 + i // 250}.{i % 250 + 2}", f"10.244.{210 + i // 250}.{i % 250 + 2}"]
                r = await c.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints(f"s{i}", ips))
                r.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def scrape(proxy: KubeProxyProc) -> dict[str, float]:
    out = {}
    for line in proxy.metrics().splitlines():
        m = re.match(
            r"^(kubeproxy_sync_proxy_rules_duration_seconds_(?:sum|count)|"
            r'kubeproxy_sync_proxy_rules_iptables_total\{table="(?:nat|filter)"\}) (\S+)$',
            line,
        )
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    if os.geteuid() != 0 or not shutil.which("iptables-restore") or not shutil.which("docker"):
        sys.exit("bench/service.py needs root, iptables and Docker")
    ensure_images()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "params": {"requests": args.requests, "services": args.services, "rounds": args.rounds},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "loadavg_before": os.getloadavg(),
        },
    }
    etcd = Etcd()
    apiserver: ApiServer | None = None
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-service-"))
    kubelet: KubeletProc | None = None
    proxy: KubeProxyProc | None = None
    guard_existed = bool(
        subprocess.run(
            ["ip", "route", "show", "exact", CLUSTER_CIDR], capture_output=True, text=True
        ).stdout.strip()
    )
    try:
        etcd.start()
        apiserver = ApiServer(etcd.url)
        apiserver.start()
        api = httpx.Client(verify=admin_tls(), base_url=apiserver.url, timeout=30)
        proxy = KubeProxyProc(apiserver, extra=["--min-sync-period", "1", "--sync-period", "60"])
        proxy.start()  # guard routes before anything else
        node = f"bsvc{uuid.uuid4().hex[:4]}"
        kubelet = KubeletProc(node, "10.244.251.0/24", free_port(), tmp / "root", tmp / "cni", apiserver)
        kubelet.start()
        ns = "bench-svc"
        api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        api.post(f"/api/v1/namespaces/{ns}/pods", json=httpd_pod(node)).raise_for_status()

        def pod_ip() -> str | None:
            st = api.get(f"/api/v1/namespaces/{ns}/pods/srv").json().get("status", {})
            return st.get("podIP") if st.get("phase") == "Running" else None

        ip = str(wait_until(pod_ip, 60, 0.2, what="pod running"))
        wait_until(lambda: one_request(ip, 8080), 20, 0.1, what="httpd answering")
        api.post(f"/api/v1/namespaces/{ns}/services", json=service("srv")).raise_for_status()
        api.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints("srv", [ip])).raise_for_status()
        cluster_ip = api.get(f"/api/v1/namespaces/{ns}/services/srv").json()["spec"]["clusterIP"]

        wait_until(lambda: one_request(cluster_ip, 80), 20, 0.1, what="cluster IP (iptables)")
        report["iptables"] = compare((ip, 8080), (cluster_ip, 80), args.requests, args.rounds)
        proxy.stop()
        userspace = KubeProxyProc(apiserver, mode="userspace")
        try:
            userspace.start()
            wait_until(lambda: one_request(cluster_ip, 80), 20, 0.1, what="cluster IP (userspace)")
            report["userspace"] = compare((ip, 8080), (cluster_ip, 80), args.requests, args.rounds)
        finally:
            userspace.stop()
            userspace.discard_log()

        proxy.start()
        many = "bench-many"
        api.post("/api/v1/namespaces", json={"metadata": {"name": many}}).raise_for_status()
        before = scrape(proxy)
        start = time.perf_counter()
        create_seconds = asyncio.run(create_services(apiserver.url, many, args.services))
        wait_until(lambda: programmed(many) >= args.services, 600, 0.5, what="all services programmed")
        program_seconds = time.perf_counter() - start
        after = scrape(proxy)
        syncs = (
            after["kubeproxy_sync_proxy_rules_duration_seconds_count"]
            - before["kubeproxy_sync_proxy_rules_duration_seconds_count"]
        )
        sync_sum = (
            after["kubeproxy_sync_proxy_rules_duration_seconds_sum"]
            - before["kubeproxy_sync_proxy_rules_duration_seconds_sum"]
        )
        proxy.kill()  # restart with everything present: one full rewrite from scratch
        restart = time.perf_counter()
        proxy.start()
        restart_seconds = time.perf_counter() - restart
        full = scrape(proxy)
        report["programming"] = {
            "services": args.services,
            "endpoints_per_service": 2,
            "create_seconds": create_seconds,
            "created_to_programmed_seconds": program_seconds,
            "syncs_during_creation": syncs,
            "mean_sync_seconds_during_creation": sync_sum / syncs if syncs else None,
            "restart_to_synced_seconds": restart_seconds,
            "full_sync_seconds": full["kubeproxy_sync_proxy_rules_duration_seconds_sum"],
            "nat_rules": full['kubeproxy_sync_proxy_rules_iptables_total{table="nat"}'],
            "filter_rules": full['kubeproxy_sync_proxy_rules_iptables_total{table="filter"}'],
        }
        api.close()
    finally:
        if kubelet is not None:
            kubelet.stop()
            cleanup_node(kubelet)
            kubelet.discard_log()
        if proxy is not None:
            proxy.cleanup()
        if apiserver is not None:
            apiserver.stop()
            apiserver.log_path.unlink(missing_ok=True)
        etcd.destroy()
        if not guard_existed:
            subprocess.run(["ip", "route", "del", "blackhole", CLUSTER_CIDR], capture_output=True)
            subprocess.run(["ip", "link", "del", "kubelite-guard"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["loadavg_after"] = os.getloadavg()
    return report


def table(report: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for mode in ("iptables", "userspace"):
        r = report[mode]
        d, p = r["direct"], r["proxied"]
        rows += [
            (
                f"[{mode}] direct to pod: mean / p50 / p99",
                f"{d['mean_ms']:.3f} / {d['p50_ms']:.3f} / {d['p99_ms']:.3f} ms",
            ),
            (
                f"[{mode}] via cluster IP: mean / p50 / p99",
                f"{p['mean_ms']:.3f} / {p['p50_ms']:.3f} / {p['p99_ms']:.3f} ms",
            ),
            (
                f"[{mode}] direct / via cluster IP",
                f"{d['requests_per_second']:.0f} / {p['requests_per_second']:.0f} req/s",
            ),
            (f"[{mode}] latency ratio (mean, p50)", f"{r['latency_ratio']:.2f}x, {r['p50_ratio']:.2f}x"),
        ]
    g = report["programming"]
    rows += [
        (f"create {g['services']} services + endpoints (API)", f"{g['create_seconds']:.1f} s"),
        ("first create -> all in iptables-save", f"{g['created_to_programmed_seconds']:.1f} s"),
        (
            "syncs meanwhile / mean sync time",
            f"{g['syncs_during_creation']:.0f} / {g['mean_sync_seconds_during_creation']:.2f} s",
        ),
        (f"one full sync of {g['services']} services", f"{g['full_sync_seconds']:.2f} s"),
        ("kube-proxy restart -> synced", f"{g['restart_to_synced_seconds']:.1f} s"),
        ("rules nat / filter", f"{g['nat_rules']:.0f} / {g['filter_rules']:.0f}"),
    ]
    p = report["params"]
    head = (
        f"service proxy benchmark: {p['requests']} sequential requests per target (new connection each), "
        f"{report['machine']['cpus']} CPUs"
    )
    width = max(len(k) for k, _ in rows)
    return "\n".join([head, "-" * len(head), *(f"{k:<{width}}  {v:>28}" for k, v in rows)])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    report = run(args)
    print(table(report))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"service-{report['date'].replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main()
