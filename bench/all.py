"""Every benchmark, one after the other, then the README's tables from their result files: one command.

    .venv/bin/python -m bench.all [--only apiserver,rollout] [--no-lock]

Benchmarks that use Docker, iptables or kube-proxy (pod_startup, service, netpol, failover; root needed) run under the host
lock, `flock /tmp/kubelite-host.lock`, taken here for each of them, so do not run this command itself under that
lock (the lock would wait for itself) unless you pass --no-lock. The others run without it. Each benchmark writes
bench/results/<name>.json; then bench/report.py rewrites the README's benchmark blocks from those files.
Commit the code first: a result file records the commit it ran on and whether the tree differed from it.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench import report
from bench.options import bench_parser
from bench.record import REPO

HOST_LOCK = "/tmp/kubelite-host.lock"

# (name, needs the host lock)
BENCHMARKS = [
    ("storage_raw", False),
    ("apiserver", False),
    ("scheduler", False),
    ("rollout", False),
    ("dns", False),
    ("pod_startup", True),
    ("service", True),
    ("netpol", True),
    ("failover", True),
    ("streaming", True),
    ("kubelet_stats", True),
]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--no-lock", action="store_true", help="the caller already holds the host lock")
    args = parser.parse_args()
    only = {n for n in args.only.split(",") if n}
    unknown = only - {n for n, _ in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    failed = []
    for name, locked in BENCHMARKS:
        if only and name not in only:
            continue
        argv = [sys.executable, "-m", f"bench.{name}"]
        if locked and not args.no_lock:
            argv = ["flock", HOST_LOCK, *argv]
        print(f"== {name}: {' '.join(argv)}", flush=True)
        start = time.monotonic()
        code = subprocess.run(argv, cwd=REPO).returncode
        print(f"== {name}: exit {code} after {time.monotonic() - start:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    text = report.README.read_text()
    report.README.write_text(report.rewrite(text, keep_missing=True))
    print(f"README.md: {len(report.blocks(text))} benchmark blocks rewritten from bench/results/")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
