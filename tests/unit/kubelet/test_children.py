"""kubelet/children.py: subprocesses reaped through pidfds on whichever loop runs, without a thread each."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import asyncio, threading
    from kubelet import children

    children.install()

    async def run(code):
        before = {t.name for t in threading.enumerate()}
        proc = await asyncio.create_subprocess_exec("sh", "-c", f"exit {code}")
        threads = {t.name for t in threading.enumerate()} - before
        return await proc.wait(), sorted(threads)

    async def many():
        return [r[0] for r in await asyncio.gather(*(run(i % 4) for i in range(20)))]

    print(asyncio.run(run(3)))
    print(asyncio.run(run(0)))  # a second loop of the same process
    print(asyncio.run(many()))
    """
)


def test_exit_codes_on_several_loops_without_waiter_threads() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "(3, [])"  # no waitpid-<pid> thread, as 3.11's default watcher starts
    assert lines[1] == "(0, [])"
    assert lines[2] == str([i % 4 for i in range(20)])
    assert "Warning" not in out.stderr
