"""The skip policy (tests/skip_policy.py), run in a pytest of its own: a skip fails a CI=true run and is listed
loudly elsewhere; a passing test and an expected failure are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import REPO

SUITE = """
import pytest

def test_passes():
    pass

@pytest.mark.skipif(True, reason="frobnicator is not installed")
def test_needs_a_frobnicator():
    pass

@pytest.fixture
def machine():
    pytest.skip("no machine here")

def test_on_a_machine(machine):
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_known_bug():
    assert False
"""


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_suite.py").write_text(SUITE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tests.skip_policy",
        "-p",
        "no:cacheprovider",
        "-c",
        os.devnull,
    ]
    argv += ["--rootdir", str(tmp_path), str(tmp_path / "test_suite.py")]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_locally_a_skip_passes_but_is_listed_loudly(tmp_path: Path) -> None:
    done = _run(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "2 tests did not run: a CI=true run fails on them" in done.stdout
    assert "1 x frobnicator is not installed" in done.stdout
    assert "1 x no machine here" in done.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in done.stdout


def test_under_ci_a_skip_fails_the_run(tmp_path: Path) -> None:
    done = _run(tmp_path, "true")
    assert done.returncode == 1, done.stdout
    assert "2 tests did not run: they FAIL this run (CI=true)" in done.stdout
    assert "skipped, and CI=true runs every test: frobnicator is not installed" in done.stdout
    # both skips happen at setup (a skip mark, a fixture), so both tests end as errors
    assert "1 passed, 1 xfailed, 2 errors" in done.stdout


def test_ci_false_is_not_ci(tmp_path: Path) -> None:
    assert _run(tmp_path, "false").returncode == 0
