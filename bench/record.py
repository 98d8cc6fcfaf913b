"""One result format for every benchmark: bench/results/<name>.json, committed, read by bench/report.py.

    {
      "benchmark": "apiserver-etcd",
      "command": "bench/apiserver.py --backend etcd",   the command line that produced it
      "started": "...Z", "finished": "...Z", "seconds": 93.1,
      "commit": {"sha": "...", "dirty": false},         dirty: tracked files other than bench/results/ changed
      "machine": {cores, memory_gib, kernel, os, python, docker, etcd, cgroup},
      "load": {"start": [1, 5, 15 min], "end": [...]},  a noisy run shows here
      "params": {...},                                  the benchmark's own arguments
      "figures": {"api_create_per_s": 2266, ...},       what the README quotes
      "baseline": {"raw_put_per_s": 11366, ...},        measured in the same run
      "ratios": {"create_vs_raw_put": {"figure": "api_create_per_s", "baseline": "raw_put_per_s", "value": 0.2}},
      "targets": [{"what": ..., "figure": ..., "op": "<=", "limit": ..., "met": true}],
      "samples": {"<set>": summarize(...)},             each raw sample set's summary, not the samples
      "notes": ["what differs from what it is compared with", ...]
    }

Floats are rounded to 4 significant digits: the files stay small and the README quotes no more than that.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"

# The etcd the benchmarks start (tests/harness.py Etcd) trades durability for speed; the record says so.
ETCD_FLAGS = ["--unsafe-no-fsync"]


def _run(argv: list[str]) -> str | None:
    """A command's output, or None when the tool is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _meminfo_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        return None
    return None


def machine() -> dict[str, Any]:
    """The machine a figure was measured on."""
    etcd = _run(["etcd", "--version"]) or ""
    found = re.search(r"etcd Version: (\S+)", etcd)
    docker = _run(["docker", "version", "--format", "{{.Server.Version}}"])
    return {
        "cores": os.cpu_count(),
        "memory_gib": _meminfo_gib(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "docker": docker.strip() if docker else None,
        "etcd": {"version": found.group(1) if found else None, "flags": ETCD_FLAGS},
        "cgroup": "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1",
    }


def commit() -> dict[str, Any]:
    """HEAD and whether the tree differs from it (result files and the README do not count: a run writes those)."""
    sha = (_run(["git", "-C", str(REPO), "rev-parse", "HEAD"]) or "").strip() or None
    status = _run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", ".",
                   ":(exclude)bench/results", ":(exclude)README.md"])  # fmt: skip
    changed = [line[3:] for line in (status or "").splitlines() if line.strip()]
    return {"sha": sha, "dirty": bool(changed), **({"dirty_paths": changed[:20]} if changed else {})}


def command_line() -> str:
    argv = list(sys.argv)
    if argv and Path(argv[0]).is_absolute() and Path(argv[0]).is_relative_to(REPO):
        argv[0] = str(Path(argv[0]).relative_to(REPO))
    return " ".join(["python", *argv])


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tidy(value: Any) -> Any:
    """Round floats to 4 significant digits (NaN and infinities become None: JSON has neither)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [tidy(v) for v in value]
    return value


def ratio(
    figure: str, baseline: str, figures: dict[str, Any], baselines: dict[str, Any], *, shown: str = "%"
) -> dict[str, Any]:
    """A ratio entry: figures[figure] / baselines[baseline]; `shown` "%" (a rate as a share of its baseline) or
    "x" (a latency as a multiple of its baseline) says how the README prints it."""
    base = baselines[baseline]
    value = figures[figure] / base if base else None
    return {"figure": figure, "baseline": baseline, "value": value, "shown": shown}


def target(what: str, figure: str, op: str, limit: float, value: float | None) -> dict[str, Any]:
    """A target entry; `op` is "<=" or ">=" and `value` the measured figure (or ratio) it applies to."""
    met = value is not None and (value <= limit if op == "<=" else value >= limit)
    return {"what": what, "figure": figure, "op": op, "limit": limit, "value": value, "met": met}


@dataclass
class Recording:
    """Started when a benchmark starts (time, load, command, commit), written when it ends."""

    name: str
    params: dict[str, Any]
    started: float = field(default_factory=time.time)
    load_start: tuple[float, float, float] = field(default_factory=os.getloadavg)
    command: str = field(default_factory=command_line)
    commit: dict[str, Any] = field(default_factory=commit)

    def write(
        self,
        *,
        figures: dict[str, Any],
        baseline: dict[str, Any] | None = None,
        ratios: dict[str, Any] | None = None,
        targets: list[dict[str, Any]] | None = None,
        samples: dict[str, Any] | None = None,
        notes: list[str] | None = None,
        out_dir: Path = RESULTS,
    ) -> Path:
        finished = time.time()
        result = {
            "benchmark": self.name,
            "command": self.command,
            "started": _stamp(self.started),
            "finished": _stamp(finished),
            "seconds": finished - self.started,
            "commit": self.commit,
            "machine": machine(),
            "load": {"start": list(self.load_start), "end": list(os.getloadavg())},
            "params": self.params,
            "figures": figures,
            "baseline": baseline or {},
            "ratios": ratios or {},
            "targets": targets or [],
            "samples": samples or {},
            "notes": notes or [],
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{self.name}.json"
        path.write_text(json.dumps(tidy(result), indent=1) + "\n")
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
        return path


def load(name: str, results: Path = RESULTS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((results / f"{name}.json").read_text())
    return data
