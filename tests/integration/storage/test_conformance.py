"""The storage contract (apiserver/storage/interface.py), run against every backend."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from apiserver.storage.interface import ErrorCode, Storage, StorageError
from tests.integration.storage.helpers import make_obj, same, set_data

pytestmark = pytest.mark.timeout(30)


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


# -- get / create / delete ---------------------------------------------------------------------------------------


async def test_create_then_get_round_trips_the_object(storage: Storage, prefix: str) -> None:
    obj = make_obj("a", data={"k": "v"}, unknownField={"nested": [1, 2, None]})
    obj["metadata"]["resourceVersion"] = "12345"  # whatever a client sent is replaced by the store's revision
    original = copy.deepcopy(obj)

    created = await storage.create(prefix + "a", obj)
    fetched = await storage.get(prefix + "a")

    assert obj == original, "create must not modify the caller's dict"
    assert created.key == fetched.key == prefix + "a"
    assert created.mod_revision == fetched.mod_revision == rv(created.obj) == rv(fetched.obj)
    assert created.mod_revision != 12345
    expected = copy.deepcopy(original)
    expected["metadata"]["resourceVersion"] = str(created.mod_revision)
    assert fetched.obj == created.obj == expected


async def test_get_missing_is_not_found(storage: Storage, prefix: str) -> None:
    with pytest.raises(StorageError) as err:
        await storage.get(prefix + "missing")
    assert err.value.code is ErrorCode.NOT_FOUND


async def test_create_existing_key_is_exists(storage: Storage, prefix: str) -> None:
    first = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))
    with pytest.raises(StorageError) as err:
        await storage.create(prefix + "a", make_obj("a", data={"v": "2"}))
    assert err.value.code is ErrorCode.EXISTS
    assert (await storage.get(prefix + "a")).obj == first.obj


async def test_concurrent_creates_of_one_key_one_wins(storage: Storage, prefix: str) -> None:
    async def attempt(i: int) -> int | None:
        try:
            return (await storage.create(prefix + "a", make_obj("a", data={"i": str(i)}))).mod_revision
        except StorageError as exc:
            assert exc.code is ErrorCode.EXISTS
            return None

    results = await asyncio.gather(*(attempt(i) for i in range(20)))

    winners = [(i, revision) for i, revision in enumerate(results) if revision is not None]
    assert len(winners) == 1
    stored = await storage.get(prefix + "a")
    assert (stored.mod_revision, stored.obj["data"]) == (winners[0][1], {"i": str(winners[0][0])})


async def test_delete_returns_last_state_at_the_deletion_revision(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))

    deleted = await storage.delete(prefix + "a")

    assert deleted.mod_revision > created.mod_revision
    assert rv(deleted.obj) == deleted.mod_revision
    assert deleted.obj["data"] == {"v": "1"}
    with pytest.raises(StorageError) as err:
        await storage.get(prefix + "a")
    assert err.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(StorageError) as err:
        await storage.delete(prefix + "a")
    assert err.value.code is ErrorCode.NOT_FOUND


async def test_delete_with_precondition(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", make_obj("a"))

    with pytest.raises(StorageError) as err:
        await storage.delete(prefix + "a", expected_revision=created.mod_revision + 1000)
    assert err.value.code is ErrorCode.CONFLICT
    assert (await storage.get(prefix + "a")).mod_revision == created.mod_revision

    deleted = await storage.delete(prefix + "a", expected_revision=created.mod_revision)
    assert deleted.obj["metadata"]["name"] == "a"
    with pytest.raises(StorageError) as err:
        await storage.delete(prefix + "a", expected_revision=created.mod_revision)
    assert err.value.code is ErrorCode.NOT_FOUND


async def test_create_after_delete(storage: Storage, prefix: str) -> None:
    await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))
    await storage.delete(prefix + "a")
    again = await storage.create(prefix + "a", make_obj("a", data={"v": "2"}))
    assert (await storage.get(prefix + "a")).obj == again.obj


async def test_revisions_strictly_increase(storage: Storage, prefix: str) -> None:
    revisions = [await storage.current_revision()]
    revisions.append((await storage.create(prefix + "a", make_obj("a"))).mod_revision)
    revisions.append((await storage.guaranteed_update(prefix + "a", set_data(x="1"))).mod_revision)
    revisions.append((await storage.create(prefix + "b", make_obj("b"))).mod_revision)
    revisions.append((await storage.delete(prefix + "a")).mod_revision)
    revisions.append(await storage.current_revision())

    assert revisions[:-1] == sorted(set(revisions[:-1]))
    assert revisions[-1] >= revisions[-2]


async def test_healthy(storage: Storage) -> None:
    assert await storage.healthy()


# -- guaranteed_update -------------------------------------------------------------------------------------------


async def test_concurrent_updates_each_land_exactly_once(storage: Storage, prefix: str) -> None:
    key = prefix + "counter"
    await storage.create(key, make_obj("counter", data={"n": 0}))
    calls = 0

    def increment(obj: dict[str, Any] | None) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        assert obj is not None
        obj["data"]["n"] += 1
        return obj

    results = await asyncio.gather(*(storage.guaranteed_update(key, increment) for _ in range(20)))

    final = await storage.get(key)
    assert final.obj["data"]["n"] == 20
    assert sorted(r.obj["data"]["n"] for r in results) == list(range(1, 21))
    assert len({r.mod_revision for r in results}) == 20
    assert calls >= 20


async def test_update_that_changes_nothing_is_not_written(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))

    unchanged = await storage.guaranteed_update(prefix + "a", same)
    # A stale or missing resourceVersion in the result is not a change either.
    stale = await storage.guaranteed_update(
        prefix + "a", lambda obj: {**same(obj), "metadata": {**same(obj)["metadata"], "resourceVersion": "1"}}
    )

    assert unchanged.mod_revision == stale.mod_revision == created.mod_revision
    assert unchanged.obj == created.obj
    assert (await storage.get(prefix + "a")).mod_revision == created.mod_revision


async def test_update_writes_and_stamps_the_new_revision(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))

    def change(obj: dict[str, Any] | None) -> dict[str, Any]:
        assert obj is not None and rv(obj) == created.mod_revision
        obj["data"]["v"] = "2"
        obj["metadata"]["resourceVersion"] = "999999"  # ignored: the store decides
        return obj

    updated = await storage.guaranteed_update(prefix + "a", change)

    assert updated.mod_revision > created.mod_revision
    assert rv(updated.obj) == updated.mod_revision
    assert (await storage.get(prefix + "a")).obj == updated.obj
    assert updated.obj["data"] == {"v": "2"}


async def test_update_missing_key(storage: Storage, prefix: str) -> None:
    with pytest.raises(StorageError) as err:
        await storage.guaranteed_update(prefix + "a", lambda obj: make_obj("a"))
    assert err.value.code is ErrorCode.NOT_FOUND

    seen: list[Any] = []

    def create(obj: dict[str, Any] | None) -> dict[str, Any]:
        seen.append(obj)
        return make_obj("a", data={"v": "new"})

    created = await storage.guaranteed_update(prefix + "a", create, ignore_not_found=True)

    assert seen == [None]
    assert (await storage.get(prefix + "a")).obj == created.obj
    assert created.obj["data"] == {"v": "new"}


async def test_update_aborted_by_try_update_writes_nothing(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", make_obj("a"))

    def refuse(obj: dict[str, Any] | None) -> dict[str, Any]:
        raise StorageError(ErrorCode.CONFLICT, prefix + "a", "precondition failed")

    with pytest.raises(StorageError) as err:
        await storage.guaranteed_update(prefix + "a", refuse)
    assert err.value.code is ErrorCode.CONFLICT
    assert (await storage.get(prefix + "a")).mod_revision == created.mod_revision


def run_in_another_process_like(
    opener: Callable[[], Storage], work: Callable[[Storage], Awaitable[Any]]
) -> None:
    """Run `work` on a second client of the same store, on its own thread and event loop, and wait for it: a
    competing writer that lands exactly between a guaranteed_update's read and its write."""

    async def main() -> None:
        other = opener()
        try:
            await work(other)
        finally:
            await other.close()

    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: errors.extend(_capture(lambda: asyncio.run(main()))))
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and not errors, errors


def _capture(fn: Callable[[], Any]) -> list[BaseException]:
    try:
        fn()
    except BaseException as exc:
        return [exc]
    return []


async def test_update_retries_from_the_state_that_won(
    storage: Storage, opener: Callable[[], Storage], prefix: str
) -> None:
    key = prefix + "a"
    await storage.create(key, make_obj("a", data={"mine": "0", "theirs": "0"}))
    seen: list[dict[str, Any]] = []

    def change(obj: dict[str, Any] | None) -> dict[str, Any]:
        assert obj is not None
        seen.append(copy.deepcopy(obj))
        if len(seen) == 1:
            run_in_another_process_like(
                opener,
                lambda other: other.guaranteed_update(key, set_data(mine="0", theirs="1")),
            )
        return {**obj, "data": {**obj["data"], "mine": "1"}}

    result = await storage.guaranteed_update(key, change)

    assert len(seen) == 2 and seen[1]["data"] == {"mine": "0", "theirs": "1"}
    assert result.obj["data"] == {"mine": "1", "theirs": "1"}
    assert (await storage.get(key)).obj == result.obj


async def test_update_racing_a_delete_recreates_when_allowed(
    storage: Storage, opener: Callable[[], Storage], prefix: str
) -> None:
    key = prefix + "a"
    await storage.create(key, make_obj("a", data={"v": "old"}))
    seen: list[dict[str, Any] | None] = []

    def change(obj: dict[str, Any] | None) -> dict[str, Any]:
        seen.append(obj)
        if len(seen) == 1:
            run_in_another_process_like(opener, lambda other: other.delete(key))
        return {**(obj or make_obj("a")), "data": {"v": "updated" if obj else "recreated"}}

    result = await storage.guaranteed_update(key, change, ignore_not_found=True)

    assert len(seen) == 2 and seen[1] is None
    assert result.obj["data"] == {"v": "recreated"}
    assert (await storage.get(key)).obj == result.obj


# -- list --------------------------------------------------------------------------------------------------------


async def test_list_in_key_order_at_one_revision(storage: Storage, prefix: str) -> None:
    for name in ["c", "a", "b"]:
        await storage.create(prefix + name, make_obj(name))
    await storage.create(prefix[:-1] + "-other/x", make_obj("x"))  # a sibling prefix is not listed

    result = await storage.list(prefix)

    assert [kv.key for kv in result.items] == [prefix + "a", prefix + "b", prefix + "c"]
    assert result.continue_token is None
    assert result.revision >= max(kv.mod_revision for kv in result.items)
    assert all(rv(kv.obj) == kv.mod_revision for kv in result.items)


async def test_list_empty_prefix(storage: Storage, prefix: str) -> None:
    result = await storage.list(prefix)
    assert result.items == [] and result.continue_token is None and result.revision >= 0


async def test_paged_list_sees_one_snapshot_while_writes_happen(storage: Storage, prefix: str) -> None:
    names = [f"k{i:03d}" for i in range(40)]
    for name in names:
        await storage.create(prefix + name, make_obj(name, data={"v": "0"}))

    first = await storage.list(prefix, limit=7)
    assert first.continue_token and first.remaining == 33

    async def writer() -> None:
        for i, name in enumerate(names):
            key = prefix + name
            if i % 3 == 0:
                await storage.delete(key)
            else:
                await storage.guaranteed_update(key, set_data(v="changed"))
            await storage.create(prefix + f"{name}-new", make_obj(f"{name}-new"))
            await asyncio.sleep(0)

    writing = asyncio.create_task(writer())
    pages = [first]
    while pages[-1].continue_token:
        pages.append(await storage.list(prefix, limit=7, continue_token=pages[-1].continue_token))
        await asyncio.sleep(0.005)
    await writing

    seen = [kv.key for page in pages for kv in page.items]
    assert seen == [prefix + n for n in names], "every key exactly once, in order, nothing added"
    assert all(kv.obj["data"] == {"v": "0"} for page in pages for kv in page.items)
    assert {page.revision for page in pages} == {first.revision}
    assert [page.remaining for page in pages[:-1]] == [33, 26, 19, 12, 5]
    assert len(pages[-1].items) == 5 and pages[-1].continue_token is None


async def test_list_limit_exactly_the_number_of_keys(storage: Storage, prefix: str) -> None:
    for name in ["a", "b"]:
        await storage.create(prefix + name, make_obj(name))
    result = await storage.list(prefix, limit=2)
    assert len(result.items) == 2 and result.continue_token is None


async def test_list_at_a_past_revision(storage: Storage, prefix: str) -> None:
    a = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))
    await storage.create(prefix + "b", make_obj("b"))
    then = await storage.current_revision()
    await storage.delete(prefix + "b")
    await storage.guaranteed_update(prefix + "a", set_data(v="2"))
    await storage.create(prefix + "c", make_obj("c"))

    past = await storage.list(prefix, revision=then)
    paged = await storage.list(prefix, revision=then, limit=1)

    assert past.revision == then
    assert [kv.key for kv in past.items] == [prefix + "a", prefix + "b"]
    assert past.items[0].obj == a.obj
    assert [kv.key for kv in paged.items] == [prefix + "a"] and paged.continue_token
    rest = await storage.list(prefix, limit=1, continue_token=paged.continue_token)
    assert [kv.key for kv in rest.items] == [prefix + "b"] and rest.revision == then


async def test_list_at_a_future_revision_is_invalid(storage: Storage, prefix: str) -> None:
    with pytest.raises(StorageError) as err:
        await storage.list(prefix, revision=await storage.current_revision() + 1000)
    assert err.value.code is ErrorCode.INVALID


@pytest.mark.parametrize("token", ["garbage!", "e30", "eyJydiI6MCwic3RhcnQiOiIifQ"])
async def test_list_with_a_bad_continue_token_is_invalid(storage: Storage, prefix: str, token: str) -> None:
    with pytest.raises(StorageError) as err:
        await storage.list(prefix, limit=1, continue_token=token)
    assert err.value.code is ErrorCode.INVALID


# -- watch -------------------------------------------------------------------------------------------------------


async def test_watch_from_now_sees_only_later_changes(storage: Storage, prefix: str, watch: Any) -> None:
    await storage.create(prefix + "before", make_obj("before"))
    events = watch(storage, prefix, 0)

    # The watch is established at some point after the call; write until it reports something.
    for i in range(100):
        await storage.create(prefix + f"probe{i}", make_obj(f"probe{i}"))
        try:
            await events.wait_for(1, timeout=0.2)
            break
        except TimeoutError:
            continue
    first = (await events.wait_for(1))[0]
    assert first.key.startswith(prefix + "probe") and first.type == "ADDED"


async def test_watch_event_types_and_states(storage: Storage, prefix: str, watch: Any) -> None:
    start = await storage.current_revision() + 1
    events = watch(storage, prefix, start)
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))
    updated = await storage.guaranteed_update(prefix + "a", set_data(v="2"))
    deleted = await storage.delete(prefix + "a")

    added, modified, gone = await events.wait_for(3)

    assert (added.type, added.key, added.revision, added.obj) == (
        "ADDED",
        prefix + "a",
        created.mod_revision,
        created.obj,
    )
    assert (modified.type, modified.revision, modified.obj) == ("MODIFIED", updated.mod_revision, updated.obj)
    assert modified.prev_obj == created.obj
    assert (gone.type, gone.revision) == ("DELETED", deleted.mod_revision)
    assert gone.obj["data"] == {"v": "2"} and rv(gone.obj) == deleted.mod_revision


async def test_watch_replays_history_in_order_then_follows(storage: Storage, prefix: str, watch: Any) -> None:
    start = await storage.current_revision() + 1
    writes = []
    for name in ["a", "b", "c"]:
        writes.append((await storage.create(prefix + name, make_obj(name))).mod_revision)
    writes.append((await storage.guaranteed_update(prefix + "a", set_data(v="1"))).mod_revision)
    writes.append((await storage.delete(prefix + "b")).mod_revision)
    await storage.create(prefix[:-1] + "-other/x", make_obj("x"))  # not under the watched prefix

    from_second = watch(storage, prefix, writes[1])
    from_start = watch(storage, prefix, start)
    replayed = await from_start.wait_for(5)
    assert [(e.type, e.key) for e in replayed] == [
        ("ADDED", prefix + "a"),
        ("ADDED", prefix + "b"),
        ("ADDED", prefix + "c"),
        ("MODIFIED", prefix + "a"),
        ("DELETED", prefix + "b"),
    ]
    assert [e.revision for e in replayed] == writes
    assert [e.revision for e in await from_second.wait_for(4)] == writes[1:]

    live = await storage.create(prefix + "d", make_obj("d"))
    assert (await from_start.wait_for(6))[5].revision == live.mod_revision
    assert (await from_second.wait_for(5))[4].revision == live.mod_revision
    assert len(from_start.events) == 6


async def test_many_writes_reach_a_watcher_in_order(storage: Storage, prefix: str, watch: Any) -> None:
    start = await storage.current_revision() + 1
    events = watch(storage, prefix, start)
    written = await asyncio.gather(*(storage.create(prefix + f"k{i}", make_obj(f"k{i}")) for i in range(200)))

    seen = await events.wait_for(200)

    assert [e.revision for e in seen] == sorted(kv.mod_revision for kv in written)


# -- compaction --------------------------------------------------------------------------------------------------


async def test_compacted_history_is_reported(private_storage: Storage, prefix: str, watch: Any) -> None:
    storage = private_storage
    first = await storage.create(prefix + "a", make_obj("a"))
    await storage.create(prefix + "b", make_obj("b"))
    page = await storage.list(prefix, limit=1)
    await storage.guaranteed_update(prefix + "a", set_data(v="1"))
    compact_at = await storage.current_revision()
    await storage.create(prefix + "c", make_obj("c"))

    await storage.compact(compact_at)
    await storage.compact(compact_at - 1)  # compacting again, to an older revision, is harmless

    with pytest.raises(StorageError) as err:
        await storage.list(prefix, revision=first.mod_revision)
    assert err.value.code is ErrorCode.COMPACTED and err.value.revision == compact_at
    with pytest.raises(StorageError) as err:
        await storage.list(prefix, limit=1, continue_token=page.continue_token)
    assert err.value.code is ErrorCode.COMPACTED
    stale = watch(storage, prefix, first.mod_revision)
    with pytest.raises(StorageError) as err:
        await stale.wait_for(1)
    assert err.value.code is ErrorCode.COMPACTED and err.value.revision == compact_at

    # Everything at or after the compaction revision is intact.
    assert [kv.key for kv in (await storage.list(prefix, revision=compact_at)).items] == [
        prefix + "a",
        prefix + "b",
    ]
    assert [kv.key for kv in (await storage.list(prefix)).items] == [prefix + k for k in "abc"]
    assert (await storage.get(prefix + "a")).obj["data"] == {"v": "1"}
    replay = watch(storage, prefix, compact_at)
    assert [(e.type, e.key) for e in await replay.wait_for(2)] == [
        ("MODIFIED", prefix + "a"),
        ("ADDED", prefix + "c"),
    ]
