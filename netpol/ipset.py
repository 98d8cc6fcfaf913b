"""Running ipset for the policy agent: one `ipset restore` per sync, listing our sets, and cleanup."""

from __future__ import annotations

import logging
import re
import shutil

from apimachinery.hostcmd import run_command
from netpol import rules

log = logging.getLogger("netpol.ipset")


class IpsetError(Exception):
    """An ipset command failed."""


def available() -> bool:
    return shutil.which("ipset") is not None


async def restore(text: str) -> None:
    code, out = await run_command("ipset", "restore", stdin=text.encode())
    if code != 0:
        where = re.search(r"Error in line (\d+)", out)
        lines = text.splitlines()
        line = lines[int(where.group(1)) - 1] if where and 0 < int(where.group(1)) <= len(lines) else ""
        raise IpsetError(f"ipset restore: exit {code}: {out.strip()[:2000]} (the line: {line!r})")


async def our_sets() -> set[str]:
    code, out = await run_command("ipset", "list", "-n")
    if code != 0:
        raise IpsetError(f"ipset list: exit {code}: {out.strip()[:2000]}")
    return {name for name in out.split() if rules.owned(name)}


async def cleanup() -> int:
    """Destroy every set of ours (the rules that use them must be gone first); returns how many went."""
    names = sorted(await our_sets())
    if names:
        await restore("".join(f"destroy {n}\n" for n in names))
    log.info("ipsets removed", extra={"sets": len(names)})
    return len(names)
