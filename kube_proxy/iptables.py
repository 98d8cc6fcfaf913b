"""Running iptables: atomic restore of our chains, idempotent jump rules, the chains present, and cleanup.

Only chains of ours (`rules.owned_*`) are ever flushed or deleted. Rules in chains we do not own (the jumps from
PREROUTING/OUTPUT/POSTROUTING/INPUT/FORWARD, the DOCKER-USER accept) are checked with `-C` and inserted at the top
with `-I` only when missing, and deleted one by one on cleanup.
"""

from __future__ import annotations

import logging
import re

from apimachinery.hostcmd import run_checked
from kube_proxy import rules
from kube_proxy.rules import Jump

log = logging.getLogger("kube_proxy.iptables")

_CHAIN_LINE = re.compile(r"^:(\S+) ")
WAIT = ("-w", "5")  # wait for the xtables lock rather than fail while Docker or a kubelet holds it


class IptablesError(Exception):
    """An iptables command failed."""


async def _run(*args: str, stdin: bytes | None = None, check: bool = True) -> tuple[int, str]:
    return await run_checked(*args, stdin=stdin, check=check, error=IptablesError)


async def restore(text: str) -> None:
    """`iptables-restore --noflush`: all tables in `text` are committed, each atomically."""
    await _run("iptables-restore", *WAIT, "--noflush", stdin=text.encode())


async def save(table: str) -> str:
    _, out = await _run("iptables-save", "-t", table)
    return out


async def chains(table: str) -> set[str]:
    """The names of all chains of `table`."""
    out = await save(table)
    return {m.group(1) for line in out.splitlines() if (m := _CHAIN_LINE.match(line))}


async def chain_exists(table: str, chain: str) -> bool:
    code, _ = await _run("iptables", *WAIT, "-t", table, "-S", chain, check=False)
    return code == 0


async def ensure_jump(jump: Jump) -> bool:
    """Insert `jump` at the top of its chain unless it is there; create the target chain first (an iptables rule
    cannot name a missing chain). Returns True when a rule was inserted."""
    if jump.target not in ("ACCEPT", "DROP", "RETURN", "REJECT"):
        await _run("iptables", *WAIT, "-t", jump.table, "-N", jump.target, check=False)
    code, _ = await _run("iptables", *WAIT, "-t", jump.table, "-C", jump.chain, *jump.args(), check=False)
    if code == 0:
        return False
    await _run("iptables", *WAIT, "-t", jump.table, "-I", jump.chain, "1", *jump.args())
    log.info("jump rule added", extra={"table": jump.table, "chain": jump.chain, "target": jump.target})
    return True


async def delete_jump(jump: Jump) -> None:
    # Delete every copy: a crash between -C and -I of two racing processes could have left two.
    for _ in range(10):
        code, _ = await _run("iptables", *WAIT, "-t", jump.table, "-D", jump.chain, *jump.args(), check=False)
        if code != 0:
            return


async def ensure_docker_user() -> bool:
    """The DOCKER-USER accept for DNAT'd traffic, when Docker's chain exists (no Docker: nothing to do)."""
    if not await chain_exists("filter", "DOCKER-USER"):
        return False
    await ensure_jump(rules.DOCKER_USER_JUMP)
    return True


async def ensure_jumps() -> None:
    for jump in rules.JUMPS:
        await ensure_jump(jump)
    await ensure_docker_user()


async def cleanup() -> int:
    """Remove every rule and chain of ours; returns how many chains were deleted. Safe to run when none exist."""
    for jump in (*rules.JUMPS, rules.DOCKER_USER_JUMP):
        await delete_jump(jump)
    nat = {c for c in await chains("nat") if rules.owned_nat_chain(c)}
    flt = {c for c in await chains("filter") if rules.owned_filter_chain(c)}
    if nat or flt:
        await restore(rules.cleanup_text(nat, flt))
    log.info("iptables rules removed", extra={"chains": len(nat) + len(flt)})
    return len(nat) + len(flt)
