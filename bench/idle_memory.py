"""Idle memory of a `kctl up` cluster (#24): the resident set of the supervisor and every component it runs, summed.

    .venv/bin/python bench/idle_memory.py [--settle 60] [--samples 5] [--interval 5]

Starts `kctl up` as a user would (tests/e2e/up's UpCluster: a state dir, kubeconfig and free ports of its own), waits
`--settle` seconds for the start-up garbage to go, then reads VmRSS (what `ps` and the issue's figure count) and PSS
(shared pages split between the processes that map them: the sum that does not count the shared libraries twice)
of each process from /proc, `--samples` times `--interval` seconds apart, and stops the cluster
(`kctl down --purge`). Docker's own daemons are the machine's, not the cluster's, and are not counted. Writes
bench/results/idle_memory.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import summarize  # noqa: E402
from bench.record import Recording, target  # noqa: E402
from tests.e2e.up.helpers import UpCluster, tear_down  # noqa: E402

LIMIT_MB = 300


def _kib(pid: int, path: str, field: str) -> int | None:
    """A `Field:   123 kB` line of /proc/<pid>/<path>, in KiB; None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def processes(cluster: UpCluster) -> dict[str, int]:
    """The supervisor's pid and each running process's, by name: a host process (several components, cli/supervisor.py)
    as `host (component, ...)`, counted once."""
    hosted: dict[int, list[str]] = {}
    for name, c in cluster.status().items():
        if c.get("pid"):
            hosted.setdefault(c["pid"], []).append(name)
    pids = {}
    for pid, names in hosted.items():
        host = cluster.status()[names[0]].get("host")
        pids[f"{host} ({', '.join(names)})" if host else names[0]] = pid
    sup = cluster.supervisor_pid()
    if sup is not None:
        pids["supervisor"] = sup
    return pids


def sample(pids: dict[str, int]) -> dict[str, tuple[float, float]]:
    """(RSS MiB, PSS MiB) per process."""
    out = {}
    for name, pid in pids.items():
        rss, pss = _kib(pid, "status", "VmRSS"), _kib(pid, "smaps_rollup", "Pss")
        if rss is None or pss is None:
            raise SystemExit(f"{name} (pid {pid}) is gone: the cluster is not idle")
        out[name] = (rss / 1024, pss / 1024)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--settle", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    rec = Recording("idle_memory", vars(args))
    cluster = UpCluster(Path(tempfile.mkdtemp(prefix="kubelite-bench-idle-")))
    try:
        up = cluster.kctl(*cluster.up_args(), timeout=300)
        if up.returncode != 0:
            raise SystemExit(f"kctl up failed:\n{up.stdout}\n{up.stderr}")
        time.sleep(args.settle)
        pids = processes(cluster)
        rounds = []
        for i in range(args.samples):
            if i:
                time.sleep(args.interval)
            rounds.append(sample(pids))
    finally:
        tear_down(cluster)
    per = {name: statistics.median(r[name][0] for r in rounds) for name in rounds[0]}
    per_pss = {name: statistics.median(r[name][1] for r in rounds) for name in rounds[0]}
    totals = [sum(v[0] for v in r.values()) for r in rounds]
    totals_pss = [sum(v[1] for v in r.values()) for r in rounds]
    total, total_pss = statistics.median(totals), statistics.median(totals_pss)
    for name in sorted(per, key=per.__getitem__, reverse=True):
        print(f"{name:20} RSS {per[name]:6.1f} MiB  PSS {per_pss[name]:6.1f} MiB")
    print(f"{'total':20} RSS {total:6.1f} MiB  PSS {total_pss:6.1f} MiB")
    rec.write(
        figures={"total_rss_mib": total, "total_pss_mib": total_pss, "rss_mib": per, "pss_mib": per_pss},
        targets=[
            target(
                f"idle RSS of every kctl up process < {LIMIT_MB} MB",
                "total_rss_mib",
                "<=",
                LIMIT_MB * 1e6 / 2**20,
                total,
            )
        ],
        samples={
            "total_rss_mib (per sample)": summarize(totals, "MiB"),
            "total_pss_mib (per sample)": summarize(totals_pss, "MiB"),
        },
        notes=[
            f"medians of {args.samples} samples {args.interval:g}s apart, {args.settle:g}s after kctl up returned",
            "RSS counts each process's shared pages (Python, libraries) again; PSS splits them",
            "processes: the supervisor and every process in its status.json (a host process running several "
            "components counted once); dockerd/containerd not counted",
        ],
    )


if __name__ == "__main__":
    main()
