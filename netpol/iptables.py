"""Running iptables for the policy agent: one `iptables-restore --noflush` per sync, reading FORWARD and our
chains, and cleanup.

Only chains named KLNP-* are ever flushed or deleted; the one rule of ours in a chain we do not own (the jump from
FORWARD) is deleted by its exact text.
"""

from __future__ import annotations

import logging
import re

from apimachinery.hostcmd import run_command
from netpol import rules

log = logging.getLogger("netpol.iptables")

WAIT = (
    "-w",
    "5",
)  # wait for the xtables lock rather than fail while Docker, a kubelet or kube-proxy holds it
_CHAIN_LINE = re.compile(r":(\S+) ")


class IptablesError(Exception):
    """An iptables command failed."""


async def _run(*args: str, stdin: bytes | None = None) -> str:
    code, text = await run_command(*args, stdin=stdin)
    if code != 0:
        raise IptablesError(f"{' '.join(args[:3])}: exit {code}: {text.strip()[:2000]}")
    return text


async def restore(text: str) -> None:
    """Commit `text` (a *filter section) atomically, leaving chains it does not declare alone."""
    await _run("iptables-restore", *WAIT, "--noflush", stdin=text.encode())


async def forward_rules() -> list[str]:
    """`iptables -S FORWARD`: the policy line and every rule of the FORWARD chain, in order."""
    return (await _run("iptables", *WAIT, "-t", "filter", "-S", "FORWARD")).splitlines()


async def our_chains() -> set[str]:
    """The names of our chains in the filter table."""
    out = await _run("iptables-save", "-t", "filter")
    return {
        m.group(1) for line in out.splitlines() if (m := _CHAIN_LINE.match(line)) and rules.owned(m.group(1))
    }


async def cleanup() -> int:
    """Remove the jump from FORWARD and every chain of ours; returns how many chains went. Safe to repeat."""
    jumps = [line for line in await forward_rules() if f"-j {rules.TOP_CHAIN}" in line]
    chains = sorted(await our_chains())
    lines = [line.replace("-A FORWARD", "-D FORWARD", 1) for line in jumps]
    lines += [f":{c} - [0:0]" for c in chains] + [f"-X {c}" for c in chains]
    if lines:
        await restore("*filter\n" + "".join(line + "\n" for line in lines) + "COMMIT\n")
    log.info("iptables rules removed", extra={"chains": len(chains), "jumps": len(jumps)})
    return len(chains)
