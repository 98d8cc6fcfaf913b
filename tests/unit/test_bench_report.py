"""The README's benchmark figures are what the committed result files say; the one percentile and summary."""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
from pathlib import Path

import pytest

from bench import report
from bench.common import percentile, summarize
from bench.record import RESULTS, ratio, target, tidy

SUMMARY_KEYS = {"n", "unit", "min", "p50", "p90", "p99", "max", "mean", "stdev"}
RESULT_FILES = sorted(RESULTS.glob("*.json"))


def test_readme_benchmark_blocks_match_the_committed_result_files() -> None:
    text = report.README.read_text()
    assert report.rewrite(text) == text, "README.md is stale: run .venv/bin/python -m bench.report"


def test_every_block_is_in_the_readme_and_every_result_file_is_quoted() -> None:
    text = report.README.read_text()
    assert sorted(report.blocks(text)) == sorted(report.RENDERERS)
    linked = set(re.findall(r"\]\(bench/results/([\w-]+\.json)\)", text))
    assert linked == {p.name for p in RESULT_FILES}


def test_a_changed_figure_changes_the_readme(tmp_path: Path) -> None:
    """The check above can fail: a result file with another figure renders another README."""
    shutil.copytree(RESULTS, tmp_path / "results")
    path = tmp_path / "results" / "rollout.json"
    data = json.loads(path.read_text())
    data["figures"]["min_ready_measured"] = data["figures"]["min_ready_guaranteed"] - 1
    path.write_text(json.dumps(data))
    text = report.README.read_text()
    changed = report.rewrite(text, tmp_path / "results")
    assert changed != text
    assert "Ready pods never below replicas - maxUnavailable" in changed and "(**missed**)" in changed


@pytest.mark.parametrize("path", RESULT_FILES, ids=lambda p: p.stem)
def test_result_files_carry_machine_commit_command_and_summaries(path: Path) -> None:
    data = json.loads(path.read_text())
    assert data["benchmark"] == path.stem
    assert data["command"].startswith("python bench/")
    assert re.fullmatch(r"[0-9a-f]{40}", data["commit"]["sha"]) and isinstance(data["commit"]["dirty"], bool)
    machine = data["machine"]
    assert {"cores", "memory_gib", "kernel", "docker", "etcd", "cgroup"} <= set(machine)
    assert len(data["load"]["start"]) == len(data["load"]["end"]) == 3
    assert data["figures"] and data["samples"]
    for name, summary in data["samples"].items():
        assert set(summary) == SUMMARY_KEYS, name
        assert summary["min"] <= summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["max"], name
    for entry in data["ratios"].values():
        assert entry["figure"] in data["figures"] and entry["baseline"] in data["baseline"]


def test_percentile_interpolates_between_nearest_ranks() -> None:
    rng = random.Random(7)
    for n in (1, 2, 3, 10, 101):
        values = [rng.uniform(0, 100) for _ in range(n)]
        if n > 1:  # statistics.quantiles(method="inclusive") is the same definition
            cuts = statistics.quantiles(values, n=100, method="inclusive")
            for p in (1, 50, 90, 99):
                assert percentile(values, p) == pytest.approx(cuts[p - 1])
        assert percentile(values, 0) == min(values) and percentile(values, 100) == max(values)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([], 50) != percentile([], 50)  # NaN


def test_summarize() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0], "s")
    assert s == {"n": 4, "unit": "s", "min": 1.0, "p50": 2.5, "p90": pytest.approx(3.7), "p99": pytest.approx(3.97),
                 "max": 4.0, "mean": 2.5, "stdev": pytest.approx(1.2909944)}  # fmt: skip
    assert summarize([], "s") == {"n": 0, "unit": "s"}
    assert summarize([5.0], "s")["stdev"] == 0.0


def test_ratio_target_and_tidy() -> None:
    r = ratio("api", "raw", {"api": 25.0}, {"raw": 100.0})
    assert r == {"figure": "api", "baseline": "raw", "value": 0.25, "shown": "%"}
    assert target("half", "api", ">=", 0.5, 0.25)["met"] is False
    assert target("fast", "lat", "<=", 3.0, 2.0)["met"] is True
    assert target("none", "lat", "<=", 3.0, None)["met"] is False
    assert tidy({"a": [1.234567, float("nan")], "b": 12345.678}) == {"a": [1.235, None], "b": 12350.0}
