"""The node's plumbing for virtual addresses: the guard device and its routes, local service addresses.

The service CIDR and the load-balancer pool are routed to a local device that drops what it is given (as IPVS
mode's kube-ipvs0; the guard code is apimachinery.guard, shared with the kubelet): a packet to a virtual address
with no rule for it dies on this machine instead of following the default route off it. This must be in place
before any rule is written. With only `blackhole` routes (no dummy or ifb driver), the host's own connections to
service addresses fail at connect() (before the nat OUTPUT chain could rewrite them).

Userspace mode makes the service addresses local by adding them (/32) to the guard device, so its listeners can
bind them. Linux flushes every route of a device when its last IPv4 address is deleted, which would take the
guard routes with it; so the device first gets an anchor address (the network address of the first guarded
CIDR) that stays as long as the device does, and removing service addresses never leaves it address-less.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable

from apimachinery import guard
from apimachinery.hostcmd import HostCommandError, run_checked
from apimachinery.validation import host_ipv4

log = logging.getLogger("kube_proxy.netif")

GUARD_DEVICE = "kubelite-svc"


# An `ip` command failed (the shared runner's error, under the name kube-proxy has used).
NetifError = HostCommandError


async def _ip(*args: str, stdin: bytes | None = None, check: bool = True) -> tuple[int, str]:
    return await run_checked("ip", *args, stdin=stdin, check=check)


async def device_exists(name: str = GUARD_DEVICE) -> bool:
    return await guard.device_kind(name) is not None


async def ensure_guard(cidrs: Iterable[str], device: str = GUARD_DEVICE) -> str:
    """Route every CIDR in `cidrs` to the guard device (apimachinery.guard; created when missing), replacing any
    other route for exactly that prefix. Returns the guard's kind: "dummy", "ifb" or "blackhole"."""
    return await guard.ensure_guard(cidrs, device, kinds=("dummy", "ifb"))


async def remove_guard(cidrs: Iterable[str], device: str = GUARD_DEVICE) -> None:
    """Delete the guard device (its routes and addresses go with it) and blackhole fallbacks for `cidrs`."""
    await guard.remove_guard(cidrs, device)


async def addresses(device: str = GUARD_DEVICE) -> set[str]:
    code, out = await _ip("-j", "-4", "addr", "show", "dev", device, check=False)
    if code != 0:
        return set()
    return {a["local"] for link in json.loads(out or "[]") for a in link.get("addr_info", []) if "local" in a}


def anchor_address(cidrs: Iterable[str]) -> str:
    """The address that keeps the guard device from ever losing its last address (see the module docstring)."""
    first = next(iter(cidrs))
    return str(ipaddress.ip_network(first, strict=False).network_address)


async def sync_addresses(wanted: Iterable[str], anchor: str, device: str = GUARD_DEVICE) -> tuple[int, int]:
    """Make the /32 addresses of `device` exactly `wanted` plus `anchor` (one `ip -batch` call; additions first,
    and the anchor is never removed, so the device's routes survive). Returns (added, removed)."""
    want = {anchor}
    for ip in wanted:
        # Each address becomes a line of `ip -batch` input: only a plain IPv4 address may (an IPv6 zone, for
        # one, is free text, and a newline in it would start a command of its own).
        checked = host_ipv4(ip)
        if checked is None:
            log.warning("address not added: not an IPv4 address", extra={"address": repr(ip)[:100]})
            continue
        want.add(checked)
    have = await addresses(device)
    add = sorted(want - have, key=lambda ip: ip != anchor)  # the anchor first
    remove = sorted(have - want)
    batch = [f"addr add {ip}/32 dev {device}" for ip in add] + [
        f"addr del {ip}/32 dev {device}" for ip in remove
    ]
    if batch:
        await _ip("-force", "-batch", "-", stdin=("\n".join(batch) + "\n").encode())
    return len(add), len(remove)
