"""The guard device: address ranges routed to a local device that drops what it is given, so that a packet to an
address in them with no more specific route (a pod bridge, a service rule, another node) dies on this machine
instead of following the default route off it (DESIGN.md section 7). The kubelet guards the cluster CIDR, kube-proxy
the service CIDR and the load-balancer pool, each with a device of its own.

The device is a `dummy` where the kernel has that driver, else (for a caller that asks for it) an `ifb`, which drops
every packet sent to it that no tc action redirected: the same guarantee. With neither, `blackhole` routes still
keep packets on the machine, but the host's own connections to those addresses then fail at connect(): right for
pod addresses (fail fast), wrong for service addresses (the nat OUTPUT chain never sees the packet), which is why
kube-proxy asks for the ifb and the kubelet does not. Only a missing driver falls back: any other failure (no
permission, a bad name) is raised, so a guard is never silently weaker than asked for.

Commands run through apimachinery.hostcmd, so a cancelled caller (SIGTERM) never leaves a half-made guard behind a
command that is still running.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from apimachinery.hostcmd import HostCommandError, run_checked

log = logging.getLogger("apimachinery.guard")

_NO_DRIVER = ("Unknown device type", "not supported")


async def device_kind(device: str) -> str | None:
    """The link type of `device` ("dummy", "ifb", ...), or None when there is no such device."""
    code, out = await run_checked("ip", "-j", "-d", "link", "show", device, check=False)
    if code != 0:
        return None
    info = json.loads(out or "[{}]")[0]
    return str((info.get("linkinfo") or {}).get("info_kind") or "dummy")


async def _make_device(device: str, kinds: tuple[str, ...]) -> str | None:
    """Create `device` as the first of `kinds` the kernel supports; None when it supports none."""
    for kind in kinds:
        code, out = await run_checked("ip", "link", "add", device, "type", kind, check=False)
        if code == 0 or "File exists" in out:
            return kind
        if not any(reason in out for reason in _NO_DRIVER):
            raise HostCommandError(f"ip link add {device} type {kind}: {out.strip()}")
    return None


async def _exact_routes(cidr: str) -> list[dict[str, str]]:
    _, out = await run_checked("ip", "-j", "route", "show", "exact", cidr)
    return list(json.loads(out or "[]"))


async def ensure_guard(
    cidrs: Iterable[str], device: str, *, kinds: tuple[str, ...] = ("dummy",), keep_other_routes: bool = False
) -> str:
    """Route every CIDR in `cidrs` to `device` (created as the first of `kinds` the kernel supports, when missing)
    or, with none of them, to a blackhole. Returns the guard's kind: "dummy", "ifb" or "blackhole".

    With `keep_other_routes`, a route some other party already has for exactly one of the CIDRs is left in
    place (it is added, never replaced); without, ours replaces it."""
    cidrs = list(cidrs)
    kind = await device_kind(device) or await _make_device(device, kinds)
    if kind is None:
        log.warning(
            "no device support for the guard: blackhole routes instead (the host's own connections to the "
            "guarded addresses fail at once)",
            extra={"cidrs": cidrs, "kinds": list(kinds)},
        )
        for cidr in cidrs:
            await _route(keep_other_routes, "blackhole", cidr)
        return "blackhole"
    await run_checked("ip", "link", "set", device, "up")
    for cidr in cidrs:
        if keep_other_routes and any(r.get("dev") == device for r in await _exact_routes(cidr)):
            continue
        await _route(keep_other_routes, cidr, "dev", device)
    log.info("guard routes in place", extra={"device": device, "kind": kind, "cidrs": cidrs})
    return kind


async def _route(add_only: bool, *route: str) -> None:
    if not add_only:
        await run_checked("ip", "route", "replace", *route)
        return
    code, out = await run_checked("ip", "route", "add", *route, check=False)
    if code != 0 and "File exists" not in out:
        raise HostCommandError(f"ip route add {' '.join(route)}: {out.strip()}")


async def remove_guard(cidrs: Iterable[str], device: str) -> None:
    """Delete the guard device (its routes and addresses go with it) and blackhole fallbacks for `cidrs`."""
    await run_checked("ip", "link", "del", device, check=False)
    for cidr in cidrs:
        await run_checked("ip", "route", "del", "blackhole", cidr, check=False)
