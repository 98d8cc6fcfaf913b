"""etcd-only behaviour: outages become UNAVAILABLE quickly, and watches and clients recover after a restart."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from apiserver.storage.etcd import EtcdStorage, parse_endpoints
from apiserver.storage.interface import ErrorCode, KeyValue, StorageError
from tests.harness import Etcd, free_port, freeze
from tests.integration.storage.helpers import make_obj, set_data

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(60)]


@pytest.fixture
async def private_store(private_etcd: Etcd) -> AsyncIterator[EtcdStorage]:
    store = EtcdStorage(private_etcd.url, request_timeout=2.0, compaction_interval=0)
    yield store
    await store.close()


async def through_outage(action: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    """Retry `action` while it raises UNAVAILABLE, until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await action()
        except StorageError as exc:
            if exc.code is not ErrorCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.1)


async def create_surely(store: EtcdStorage, key: str) -> None:
    """Create `key`, retrying through an outage; a retry that finds its own earlier write is fine."""

    async def create() -> KeyValue | None:
        try:
            return await store.create(key, make_obj(key.rsplit("/", 1)[-1]))
        except StorageError as exc:
            if exc.code is ErrorCode.EXISTS:
                return None
            raise

    await through_outage(create)


def test_parse_endpoints() -> None:
    assert parse_endpoints("http://127.0.0.1:2379, http://etcd1:2380,etcd2") == [
        ("127.0.0.1", 2379),
        ("etcd1", 2380),
        ("etcd2", 2379),
    ]
    with pytest.raises(ValueError):
        parse_endpoints("https://127.0.0.1:2379")
    with pytest.raises(ValueError):
        parse_endpoints("")


async def test_stopped_etcd_is_unavailable_quickly_then_recovers(
    private_etcd: Etcd, private_store: EtcdStorage
) -> None:
    key = "/registry/outage/a"
    await private_store.create(key, make_obj("a"))
    await asyncio.to_thread(private_etcd.stop)

    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: private_store.get(key),
        lambda: private_store.create("/registry/outage/b", make_obj("b")),
        lambda: private_store.list("/registry/outage/"),
        lambda: private_store.guaranteed_update(key, set_data(v="1")),
        lambda: private_store.delete(key),
    ]

    async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, BaseException | None]:
        started = time.monotonic()
        try:
            await call()
        except StorageError as exc:
            return time.monotonic() - started, exc
        return time.monotonic() - started, None

    for elapsed, error in await asyncio.gather(*(timed(call) for call in calls)):
        assert isinstance(error, StorageError) and error.code is ErrorCode.UNAVAILABLE, error
        assert elapsed < 3.0
    started = time.monotonic()
    assert not await private_store.healthy()
    assert time.monotonic() - started < 1.5

    await asyncio.to_thread(private_etcd.start)
    fetched = await through_outage(lambda: private_store.get(key))
    assert fetched.obj["metadata"]["name"] == "a"
    assert await private_store.healthy()


async def test_hung_etcd_is_unavailable_within_the_timeout(
    private_etcd: Etcd, private_store: EtcdStorage
) -> None:
    """A server that accepts connections but never answers (SIGSTOP) must not hang callers either."""
    key = "/registry/hung/a"
    await private_store.create(key, make_obj("a"))
    assert private_etcd.proc is not None
    freeze(private_etcd.proc)
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            private_store.get(key),
            private_store.create("/registry/hung/b", make_obj("b")),
            private_store.list("/registry/hung/", limit=10),
            return_exceptions=True,
        )
        assert time.monotonic() - started < 3.0
        assert all(isinstance(r, StorageError) and r.code is ErrorCode.UNAVAILABLE for r in results), results
        assert not await private_store.healthy()
    finally:
        private_etcd.proc.send_signal(signal.SIGCONT)
    assert (await through_outage(lambda: private_store.get(key))).obj["metadata"]["name"] == "a"


async def test_watch_survives_an_etcd_restart(
    private_etcd: Etcd, private_store: EtcdStorage, watch: Any
) -> None:
    prefix = "/registry/restart/"
    start = await private_store.current_revision() + 1
    events = watch(private_store, prefix, start)
    for i in range(3):
        await private_store.create(f"{prefix}before{i}", make_obj(f"before{i}"))
    await events.wait_for(3)

    await asyncio.to_thread(private_etcd.restart)
    for i in range(3):
        await create_surely(private_store, f"{prefix}after{i}")

    seen = await events.wait_for(6, timeout=20)
    assert [e.key for e in seen] == [f"{prefix}before{i}" for i in range(3)] + [
        f"{prefix}after{i}" for i in range(3)
    ]
    assert [e.revision for e in seen] == sorted({e.revision for e in seen})
    await asyncio.sleep(0.2)
    assert len(events.events) == 6, "no event may be delivered twice after the re-watch"


async def test_a_dead_endpoint_is_skipped(etcd: Etcd) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    store = EtcdStorage([dead, etcd.url], compaction_interval=0)
    try:
        created = await store.create(f"/registry/endpoints-{time.time_ns()}/a", make_obj("a"))
        assert (await store.get(created.key)).mod_revision == created.mod_revision
        assert await store.healthy()
    finally:
        await store.close()


async def test_unlimited_list_is_read_in_pages_at_one_revision(etcd: Etcd) -> None:
    prefix = f"/registry/pages-{time.time_ns()}/"
    store = EtcdStorage(etcd.url, compaction_interval=0, page_size=4)
    try:
        for i in range(10):
            await store.create(f"{prefix}k{i:02d}", make_obj(f"k{i}"))
        before = await store.current_revision()

        async def churn() -> None:
            for i in range(10, 20):
                await store.create(f"{prefix}k{i:02d}", make_obj(f"k{i}"))

        writing = asyncio.create_task(churn())
        result = await store.list(prefix)
        await writing

        assert result.revision >= before
        assert [kv.key for kv in result.items] == [f"{prefix}k{i:02d}" for i in range(len(result.items))]
        assert all(kv.mod_revision <= result.revision for kv in result.items)
        assert result.continue_token is None
    finally:
        await store.close()


async def test_periodic_compaction_keeps_the_window(private_etcd: Etcd) -> None:
    store = EtcdStorage(private_etcd.url, compaction_interval=0.2, history_window=5)
    try:
        for i in range(20):
            await store.create(f"/registry/compaction/k{i}", make_obj(f"k{i}"))
        # The first tick only remembers the revision; a later one compacts up to it (and keeps 5 revisions).
        deadline = time.monotonic() + 5
        while True:
            try:
                await store.list("/registry/compaction/", revision=2)
            except StorageError as exc:
                assert exc.code is ErrorCode.COMPACTED
                break
            assert time.monotonic() < deadline, "history was never compacted"
            await asyncio.sleep(0.1)
        now = await store.current_revision()
        assert len((await store.list("/registry/compaction/", revision=now - 5)).items) >= 15
    finally:
        await store.close()
