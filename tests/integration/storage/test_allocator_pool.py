"""The service address pools on real SQLite storage: the reserved band at the bottom of a range is handed out
only by name until the rest of the range is full, then (from the fallback on) last; a full range is a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from apimachinery import errors
from apiserver.allocator import ServiceAllocator, static_band
from apiserver.storage.sqlite import SqliteStorage


async def test_reserved_band_is_taken_last_and_a_full_range_refuses(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path, compaction_interval=0)
    try:
        # A /27: 30 usable addresses, a static band of 16 at the bottom. Its first host is kept for the `kubernetes`
        # Service; the rest of the band is handed out by fallback once the dynamic part is full.
        allocator = ServiceAllocator(storage, "10.0.0.0/27", "30000-30001", None)
        pool = allocator.cluster_ips
        assert static_band(32) == 16
        assert pool.first == int.from_bytes(bytes([10, 0, 0, 1])) and pool.last == pool.first + 29
        assert pool.dynamic_first == pool.first + 16
        assert pool.fallback_first == pool.first + 1

        dynamic = {await pool.allocate("ns/a") for _ in range(pool.last - pool.dynamic_first + 1)}
        assert dynamic == set(range(pool.dynamic_first, pool.last + 1))
        # The dynamic part is full: the band above the first host comes next; the first host never.
        assert await pool.claim(pool.first + 5, "ns/named")
        fallback = {await pool.allocate("ns/b") for _ in range(14)}
        assert fallback == set(range(pool.first + 1, pool.dynamic_first)) - {pool.first + 5}
        with pytest.raises(errors.StatusError) as refused:
            await pool.allocate("ns/c")
        assert refused.value.code == 500 and "clusterips is full" in str(refused.value)

        await pool.free(pool.first + 5)
        assert await pool.allocate("ns/d") == pool.first + 5
        await pool.free(pool.first + 5)
        await pool.free(pool.first + 5)  # freeing twice is not an error

        ports = allocator.node_ports
        assert {await ports.allocate("ns/a"), await ports.allocate("ns/b")} == {30000, 30001}
        assert ports.key(30000) == "/registry/allocations/nodeports/30000"
    finally:
        await storage.close()
