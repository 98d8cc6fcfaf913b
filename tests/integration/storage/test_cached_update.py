"""guaranteed_update starting from a cached state (the watch cache's), run against every backend: a current one
saves the read, a stale one must never win or be taken for "unchanged"."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.storage.interface import ErrorCode, Storage, StorageError
from tests.integration.storage.helpers import make_obj, same, set_data

pytestmark = pytest.mark.timeout(30)


async def test_a_current_cached_state_is_updated(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))
    cached = copy.deepcopy(created.obj)
    seen: list[dict[str, Any]] = []

    def change(obj: dict[str, Any] | None) -> dict[str, Any]:
        assert obj is not None
        seen.append(copy.deepcopy(obj))
        obj["data"]["v"] = "2"
        return obj

    updated = await storage.guaranteed_update(prefix + "a", change, cached=cached)

    assert cached == created.obj, "the cached dict is shared with watchers: never changed"
    assert seen == [created.obj]
    assert updated.mod_revision > created.mod_revision
    assert (await storage.get(prefix + "a")).obj == updated.obj
    assert updated.obj["data"] == {"v": "2"}


async def test_a_stale_cached_state_loses_and_the_update_applies_to_the_stored_one(
    storage: Storage, prefix: str
) -> None:
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}, extra="old"))
    stale = copy.deepcopy(created.obj)
    await storage.guaranteed_update(prefix + "a", lambda obj: {**(obj or {}), "extra": "new"})
    tried: list[str] = []

    def change(obj: dict[str, Any] | None) -> dict[str, Any]:
        assert obj is not None
        tried.append(obj["extra"])
        obj["data"] = {"v": "2"}
        return obj

    updated = await storage.guaranteed_update(prefix + "a", change, cached=stale)

    stored = (await storage.get(prefix + "a")).obj
    assert stored == updated.obj
    assert stored["extra"] == "new", "the write must not bring the stale state back"
    assert stored["data"] == {"v": "2"}
    if tried[0] == "old":  # a backend that uses the cached state tried it first, then the stored one
        assert tried == ["old", "new"]


async def test_unchanged_against_a_stale_cached_state_is_decided_on_the_stored_one(
    storage: Storage, prefix: str
) -> None:
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))
    stale = copy.deepcopy(created.obj)
    later = await storage.guaranteed_update(prefix + "a", set_data(v="2"))

    # Back to v=1: equal to the stale cached state, not to the stored one, so it must be written.
    result = await storage.guaranteed_update(prefix + "a", set_data(v="1"), cached=stale)

    assert result.mod_revision > later.mod_revision
    assert (await storage.get(prefix + "a")).obj["data"] == {"v": "1"}
    # And a real no-op from a current cached state writes nothing.
    current = (await storage.get(prefix + "a")).obj
    unchanged = await storage.guaranteed_update(prefix + "a", same, cached=current)
    assert unchanged.mod_revision == result.mod_revision


async def test_a_cached_state_of_a_deleted_key_is_not_found(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", make_obj("a", data={"v": "1"}))
    await storage.delete(prefix + "a")

    with pytest.raises(StorageError) as err:
        await storage.guaranteed_update(prefix + "a", set_data(v="2"), cached=created.obj)

    assert err.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(StorageError):
        await storage.get(prefix + "a")
