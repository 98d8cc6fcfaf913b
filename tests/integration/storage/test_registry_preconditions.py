"""A PUT's resourceVersion stays a precondition on every attempt of the registry's compare-and-swap loop, on every
backend. The first attempt starts from the watch cache; when the cache is behind, that attempt loses the swap and the
next one starts from storage, where the precondition must still be checked (a lost update otherwise)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apimachinery.errors import StatusError
from apimachinery.user import UserInfo
from apiserver.admission import Attributes, Chain
from apiserver.registry import Store
from apiserver.registry_writes import replacing
from apiserver.storage import fresh
from apiserver.storage.interface import Storage
from apiserver.strategy import Strategy
from apiserver.watchcache import WatchCache
from tests.resources import CONFIGMAPS

pytestmark = pytest.mark.timeout(30)


class _Checks:
    """A validating admission plugin that lets everything through: with it a client's update takes the registry's
    other path (read, decide, admit, then compare-and-swap)."""

    async def validate(self, a: Attributes) -> None:
        pass


@pytest.fixture(params=["plain", "admitted"])
def user(request: pytest.FixtureRequest) -> UserInfo | None:
    return UserInfo("tester") if request.param == "admitted" else None


def _store(storage: Storage, prefix: str, user: UserInfo | None) -> tuple[Store, WatchCache]:
    cache = WatchCache(prefix)
    store = Store(CONFIGMAPS, storage, cache, Strategy(), prefix=prefix)
    if user is not None:
        store.admission = Chain([], [_Checks()])
    return store, cache


def configmap(name: str, value: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}}


async def test_a_stale_put_is_refused_while_the_watch_cache_is_behind(
    storage: Storage, prefix: str, user: UserInfo | None
) -> None:
    # A real watch cache that no storage watch feeds: it keeps the state it was given, as a cache that has not
    # yet seen the latest write does.
    store, cache = _store(storage, prefix, user)
    created = await store.create("ns", configmap("one", "v"))
    revision = int(created["metadata"]["resourceVersion"])
    cache.reset({store.key("ns", "one"): fresh(created)}, revision)

    first = fresh(created)
    first["data"] = {"k": "v2"}
    updated, _ = await store.update("ns", "one", replacing(first), user=user)
    assert int(updated["metadata"]["resourceVersion"]) > revision
    assert cache.get(store.key("ns", "one")) == created, "the cache is still behind"

    stale = fresh(created)
    stale["data"] = {"k": "stale"}
    with pytest.raises(StatusError) as exc:
        await store.update("ns", "one", replacing(stale), user=user)
    assert (exc.value.code, exc.value.reason) == (409, "Conflict")
    assert (await store.get("ns", "one"))["data"] == {"k": "v2"}, "the stale write must not land"
    assert stale["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"], (
        "the caller's object"
    )


async def test_a_stale_apply_is_refused_while_the_watch_cache_is_behind(
    storage: Storage, prefix: str
) -> None:
    # Server-side apply's transform merges the same configuration on every attempt: it must not be changed by one.
    cache = WatchCache(prefix)
    store = Store(CONFIGMAPS, storage, cache, Strategy(), prefix=prefix)
    fields = store.field_manager()
    created = await store.create("ns", configmap("one", "v"), manager="test")
    cache.reset({store.key("ns", "one"): fresh(created)}, int(created["metadata"]["resourceVersion"]))

    def applying(config: dict[str, object]) -> Callable[[dict[str, object]], dict[str, object]]:
        return lambda current: fields.apply(current, config, "applier", force=True)

    await store.update("ns", "one", applying(configmap("one", "v2")))
    stale = configmap("one", "stale")
    stale["metadata"] = {"name": "one", "resourceVersion": created["metadata"]["resourceVersion"]}
    with pytest.raises(StatusError) as exc:
        await store.update("ns", "one", applying(stale))
    assert (exc.value.code, exc.value.reason) == (409, "Conflict")
    assert (await store.get("ns", "one"))["data"] == {"k": "v2"}


async def test_a_current_put_succeeds_while_the_watch_cache_is_behind(
    storage: Storage, prefix: str, user: UserInfo | None
) -> None:
    # The client has already seen the newest write (its answer), the cache has not: the precondition fails against
    # the cache's copy, and must be decided again on the stored object, as kube-apiserver does, not answered 409.
    store, cache = _store(storage, prefix, user)
    created = await store.create("ns", configmap("one", "v"))
    cache.reset({store.key("ns", "one"): fresh(created)}, int(created["metadata"]["resourceVersion"]))
    first = fresh(created)
    first["data"] = {"k": "v2"}
    updated, _ = await store.update("ns", "one", replacing(first), user=user)

    second = fresh(updated)
    second["data"] = {"k": "v3"}
    latest, _ = await store.update("ns", "one", replacing(second), user=user)
    assert int(latest["metadata"]["resourceVersion"]) > int(updated["metadata"]["resourceVersion"])
    assert (await store.get("ns", "one"))["data"] == {"k": "v3"}
