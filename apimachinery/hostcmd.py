"""Running a host command (iptables, ipset, ip) to completion, even when the caller is cancelled (shared by
kube-proxy and the network policy agent)."""

from __future__ import annotations

import asyncio


async def run_command(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    """Run `args` with `stdin` (else /dev/null) and return its exit code and its output (stdout and stderr
    together, decoded). Never raises for a non-zero exit or a missing command (127): callers decide what a
    failure means.

    Cancelled (SIGTERM) mid-command: the command is let finish first, so that no restore lands after our cleanup;
    then CancelledError propagates."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except FileNotFoundError:
        return 127, f"{args[0]}: command not found"  # as a shell says it; the caller decides what it means
    done = asyncio.ensure_future(proc.communicate(stdin))
    try:
        out, _ = await asyncio.shield(done)
    except asyncio.CancelledError:
        await done
        raise
    return proc.returncode or 0, out.decode(errors="replace")
