"""A skipped test is a gap in what the run showed, so it never passes quietly (a pytest plugin, from conftest.py).

* Under CI=true (what CI sets) a skip fails the run: the test's report becomes a failure that carries the reason,
  because CI runs on a machine that scripts/install has given everything.
* Elsewhere the skips are listed at the end of the run, grouped by reason, in a section that cannot be missed.

An expected failure (xfail) is not a skip and is left alone.
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

SKIPS = pytest.StashKey[list[tuple[str, str]]]()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SKIPS] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _reason(report)
    item.config.stash[SKIPS].append((report.nodeid, reason))
    if in_ci():
        report.outcome = "failed"
        report.longrepr = f"skipped, and CI=true runs every test: {reason}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    skips = config.stash.get(SKIPS, [])
    if not skips:
        return
    by_reason: dict[str, list[str]] = defaultdict(list)
    for nodeid, reason in skips:
        by_reason[reason].append(nodeid)
    verdict = "they FAIL this run (CI=true)" if in_ci() else "a CI=true run fails on them"
    terminalreporter.section(f"{len(skips)} tests did not run: {verdict}", sep="!", red=True, bold=True)
    for reason, nodeids in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        terminalreporter.write_line(f"{len(nodeids):4d} x {reason}", yellow=True, bold=True)
        for nodeid in nodeids[:3]:
            terminalreporter.write_line(f"         {nodeid}")
        if len(nodeids) > 3:
            terminalreporter.write_line(f"         ... and {len(nodeids) - 3} more")
    terminalreporter.write_line(
        "scripts/install (as root on Debian/Ubuntu) installs everything the tests use; scripts/test runs it first.",
        bold=True,
    )
