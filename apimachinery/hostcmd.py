"""Running a host command (iptables, ipset, ip) to completion, even when the caller is cancelled (shared by
the kubelet, kube-proxy and the network policy agent)."""

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


class HostCommandError(Exception):
    """A host command (`ip`, `iptables`) failed; the message is the command line and its output."""


async def run_checked(
    *args: str, stdin: bytes | None = None, check: bool = True, error: type[Exception] = HostCommandError
) -> tuple[int, str]:
    """`run_command`, raising `error` for a non-zero exit (a missing command too) when `check`. The message names
    the command (its first words when it is long) and the start of its output, so a huge restore stays readable."""
    code, text = await run_command(*args, stdin=stdin)
    if check and code != 0:
        shown = " ".join(args) if len(args) <= 8 else " ".join(args[:4]) + " ..."
        raise error(f"{shown}: exit {code}: {text.strip()[:2000]}")
    return code, text
