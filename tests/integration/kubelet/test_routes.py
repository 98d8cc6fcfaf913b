"""host-gw routes on the real routing table. The "other node" is the far end of a veth pair of this test, so a
packet on such a route could never leave the machine."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from kubelet.network import host

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip route")


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True)


@pytest.fixture
def peer() -> Iterator[str]:
    """A veth pair; returns the peer address (a non-local gateway reachable only through this pair)."""
    name = f"klt{uuid.uuid4().hex[:6]}"
    if _ip("link", "add", name, "type", "veth", "peer", "name", name + "p").returncode != 0:
        pytest.skip("veth not supported here")
    try:
        _ip("addr", "add", "169.254.77.1/30", "dev", name)
        _ip("link", "set", name, "up")
        _ip("link", "set", name + "p", "up")
        yield "169.254.77.2"
    finally:
        _ip("link", "del", name)


def _ours() -> dict[str, str]:
    out = _ip("-j", "route", "show", "proto", host.ROUTE_PROTO).stdout
    return {r["dst"]: r.get("gateway", "") for r in json.loads(out or "[]")}


async def test_sync_routes_adds_replaces_and_removes(peer: str) -> None:
    cidr = "10.244.253.0/24"
    try:
        await host.sync_routes({cidr: peer, "10.244.252.0/24": "127.0.0.1"})  # a local gateway is skipped
        assert _ours().get(cidr) == peer
        assert "10.244.252.0/24" not in _ours()
        await host.sync_routes({cidr: peer})  # idempotent
        assert _ours().get(cidr) == peer
        await host.sync_routes({})
        assert cidr not in _ours()
    finally:
        _ip("route", "del", cidr, "proto", host.ROUTE_PROTO)
