"""Informers against a real apiserver: handlers, indexes, and convergence after apiserver and etcd restarts."""

from __future__ import annotations

import asyncio

import pytest

from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.informer import Informer, InformerFactory, key_of
from tests.factories import configmap
from tests.harness import ApiServer, Etcd
from tests.integration.client.helpers import make_namespace
from tests.polling import eventually
from tests.resources import CONFIGMAPS

pytestmark = pytest.mark.etcd


def describe(informer: Informer, mirror: Mirror) -> str:
    return (
        f"mirror={mirror.data()} store={store_data(informer)} calls={mirror.calls} "
        f"rv={informer.resource_version} relists={informer.relists}"
    )


class Mirror:
    """What the handlers have been told, rebuilt from add/update/delete calls alone."""

    def __init__(self, informer: Informer) -> None:
        self.objects: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        informer.add_handler(on_add=self.add, on_update=self.update, on_delete=self.delete)

    def add(self, obj: dict) -> None:
        self.calls.append(("add", obj["metadata"]["name"]))
        self.objects[key_of(obj)] = obj

    def update(self, old: dict, new: dict) -> None:
        assert key_of(old) == key_of(new)
        self.calls.append(("update", new["metadata"]["name"]))
        self.objects[key_of(new)] = new

    def delete(self, obj: dict) -> None:
        self.calls.append(("delete", obj["metadata"]["name"]))
        self.objects.pop(key_of(obj), None)

    def data(self) -> dict[str, dict]:
        return {k: o.get("data") or {} for k, o in self.objects.items()}


def store_data(informer: Informer) -> dict[str, dict]:
    return {key_of(o): o.get("data") or {} for o in informer.store.list()}


async def test_informer_handlers_store_and_index(client: Client, namespace: str) -> None:
    await client.create(CONFIGMAPS, configmap("pre", {"v": "0"}, {"tier": "a"}), namespace)
    informer = Informer(client, CONFIGMAPS, namespace)
    informer.add_indexer("tier", lambda o: [o["metadata"].get("labels", {}).get("tier", "")])
    mirror = Mirror(informer)
    task = asyncio.create_task(informer.run())
    try:
        await informer.wait_synced(10)
        assert informer.has_synced
        assert mirror.calls == [("add", "pre")]

        await client.create(CONFIGMAPS, configmap("x", {"v": "1"}, {"tier": "b"}), namespace)
        await client.patch(CONFIGMAPS, "x", {"data": {"v": "2"}}, namespace)
        await client.delete(CONFIGMAPS, "pre", namespace)
        await eventually(lambda: mirror.calls[-1:] == [("delete", "pre")], what="delete event")
        assert mirror.calls == [("add", "pre"), ("add", "x"), ("update", "x"), ("delete", "pre")]
        assert store_data(informer) == {f"{namespace}/x": {"v": "2"}}
        assert informer.store.get(f"{namespace}/x") is informer.store.get_by_name("x", namespace)
        assert [o["metadata"]["name"] for o in informer.store.by_index("tier", "b")] == ["x"]
        assert informer.store.by_index("tier", "a") == []
        assert [o["metadata"]["name"] for o in informer.store.by_index("namespace", namespace)] == ["x"]

        # A handler added late is told about what is already cached.
        late: list[str] = []
        informer.add_handler(on_add=lambda o: late.append(o["metadata"]["name"]))
        assert late == ["x"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_broken_handler_does_not_stop_the_informer(client: Client, namespace: str) -> None:
    informer = Informer(client, CONFIGMAPS, namespace)

    def boom(obj: dict) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(on_add=boom)
    mirror = Mirror(informer)
    task = asyncio.create_task(informer.run())
    try:
        await informer.wait_synced(10)
        await client.create(CONFIGMAPS, configmap("a"), namespace)
        await eventually(lambda: ("add", "a") in mirror.calls)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_rewatches_from_last_version_when_the_server_ends_the_stream(
    client: Client, namespace: str
) -> None:
    informer = Informer(client, CONFIGMAPS, namespace, watch_timeout=(1, 1))
    mirror = Mirror(informer)
    task = asyncio.create_task(informer.run())
    try:
        await informer.wait_synced(10)
        await client.create(CONFIGMAPS, configmap("one"), namespace)
        await eventually(lambda: informer.watches >= 2, what="a second watch after the first timed out")
        await client.create(CONFIGMAPS, configmap("two"), namespace)
        await eventually(lambda: len(mirror.objects) == 2, what="the event after the re-watch")
        assert informer.relists == 0  # a normal end of stream is no reason to relist
        assert mirror.calls == [("add", "one"), ("add", "two")]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_factory_shares_and_syncs(client: Client, namespace: str) -> None:
    factory = InformerFactory(client)
    a = factory.informer(CONFIGMAPS, namespace)
    assert factory.informer(CONFIGMAPS, namespace) is a
    factory.start()
    try:
        await factory.wait_synced(10)
        late = factory.informer(CONFIGMAPS, namespace, label_selector="x=y")
        await late.wait_synced(10)
    finally:
        await factory.stop()


@pytest.mark.slow
async def test_converges_after_apiserver_restart(private_etcd: Etcd, private_apiserver: ApiServer) -> None:
    """Changes made while the informer's apiserver is down (through another apiserver) reach the handlers."""
    other = ApiServer(private_etcd.url)
    other.start()
    async with Client(private_apiserver.config()) as client, Client(other.config()) as writer:
        try:
            ns = await make_namespace(client)
            for name in ("keep", "change", "remove"):
                await client.create(CONFIGMAPS, configmap(name, {"v": "1"}), ns)
            informer = Informer(client, CONFIGMAPS, ns)
            mirror = Mirror(informer)
            task = asyncio.create_task(informer.run())
            await informer.wait_synced(10)
            assert len(mirror.objects) == 3

            private_apiserver.stop()
            await writer.delete(CONFIGMAPS, "remove", ns)
            await writer.patch(CONFIGMAPS, "change", {"data": {"v": "2"}}, ns)
            await writer.create(CONFIGMAPS, configmap("new", {"v": "1"}), ns)
            private_apiserver.start()

            expected = {f"{ns}/keep": {"v": "1"}, f"{ns}/change": {"v": "2"}, f"{ns}/new": {"v": "1"}}
            await eventually(
                lambda: mirror.data() == expected,
                what="convergence after restart",
                state=lambda: describe(informer, mirror),
            )
            assert store_data(informer) == expected
            assert ("delete", "remove") in mirror.calls
            assert informer.relists >= 1

            # And the new watch is live.
            await client.create(CONFIGMAPS, configmap("after", {"v": "9"}), ns)
            await eventually(lambda: f"{ns}/after" in mirror.objects, what="event after restart")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            other.stop()
            other.log_path.unlink(missing_ok=True)


@pytest.mark.slow
async def test_converges_after_etcd_restart(private_etcd: Etcd, private_apiserver: ApiServer) -> None:
    async with Client(private_apiserver.config()) as client:
        ns = await make_namespace(client)
        await client.create(CONFIGMAPS, configmap("a", {"v": "1"}), ns)
        informer = Informer(client, CONFIGMAPS, ns)
        mirror = Mirror(informer)
        task = asyncio.create_task(informer.run())
        try:
            await informer.wait_synced(10)
            private_etcd.restart()

            async def write() -> bool:
                try:
                    await client.patch(CONFIGMAPS, "a", {"data": {"v": "2"}}, ns)
                    try:
                        await client.create(CONFIGMAPS, configmap("b", {"v": "1"}), ns)
                    except StatusError as err:
                        if err.code != 409:
                            raise
                    return True
                except (StatusError, ConnectionError):
                    return False  # the apiserver may need a moment to reconnect to etcd

            await eventually(
                write, 20, 0.2, what="the apiserver to recover after the etcd restart", ignore=()
            )

            expected = {f"{ns}/a": {"v": "2"}, f"{ns}/b": {"v": "1"}}
            await eventually(
                lambda: mirror.data() == expected,
                what="convergence after etcd restart",
                state=lambda: describe(informer, mirror),
            )
            assert store_data(informer) == expected
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
