"""bench/cpu.py: CPU seconds of a process and of the machine, read from /proc."""

import os
import subprocess
import sys
import time

from bench import cpu


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_process_that_works_shows_its_cpu_and_the_machine_at_least_as_much() -> None:
    before = cpu.snapshot({"me": os.getpid()})
    _burn(0.2)
    used = cpu.spent(before, cpu.snapshot({"me": os.getpid()}))
    assert 0.15 <= used["me"] <= 1.0
    # Both count in ticks, but differently: the process's time is its exact run time rounded down at each reading,
    # the machine's is sampled at each tick. Each may be a tick short at either end of the window: up to three
    # ticks apart when the machine did nothing else.
    assert used["machine"] >= used["me"] - 3.5 / cpu.TICK


def test_a_gone_or_unknown_process_counts_as_none() -> None:
    assert cpu.process_seconds(None) == 0.0
    assert cpu.process_seconds(2**22 + 12345) == 0.0  # above pid_max's default ceiling: no such process


def test_children_are_counted_only_when_asked() -> None:
    pid = os.getpid()
    own, with_children = cpu.process_seconds(pid), cpu.process_seconds(pid, children=True)
    burn = "import time\nend = time.process_time() + 0.2\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)  # waited for: its CPU joins ours as a child's
    assert cpu.process_seconds(pid) - own < 0.1
    assert cpu.process_seconds(pid, children=True) - with_children >= 0.15
