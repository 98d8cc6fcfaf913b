"""The REST client against a real apiserver: CRUD, patch types, errors, watch (including 410 Expired)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys

import pytest

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError
from tests import factories
from tests.factories import configmap
from tests.harness import free_port, running_apiserver
from tests.integration.client.helpers import make_namespace
from tests.resources import CONFIGMAPS, DEPLOYMENTS

pytestmark = pytest.mark.etcd


def deployment(name: str) -> dict:
    box = {"name": "main", "image": "busybox", "env": [{"name": "A", "value": "1"}]}
    return factories.deployment(name, 0, containers=[box], labelled=False)


async def test_crud_roundtrip(client: Client, namespace: str) -> None:
    created = await client.create(CONFIGMAPS, configmap("one", {"k": "v"}, {"app": "a"}), namespace)
    assert created["metadata"]["namespace"] == namespace
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    await client.create(CONFIGMAPS, configmap("two", {"k": "w"}, {"app": "b"}), namespace)

    got = await client.get(CONFIGMAPS, "one", namespace)
    assert got["data"] == {"k": "v"}

    listed = await client.list(CONFIGMAPS, namespace)
    assert sorted(o["metadata"]["name"] for o in listed["items"]) == ["one", "two"]
    assert listed["metadata"]["resourceVersion"]
    selected = await client.list(CONFIGMAPS, namespace, label_selector="app=b")
    assert [o["metadata"]["name"] for o in selected["items"]] == ["two"]
    by_field = await client.list(CONFIGMAPS, namespace, field_selector="metadata.name=one")
    assert [o["metadata"]["name"] for o in by_field["items"]] == ["one"]

    got["data"]["k"] = "v2"
    updated = await client.update(CONFIGMAPS, got, namespace)
    assert updated["data"] == {"k": "v2"}
    assert int(updated["metadata"]["resourceVersion"]) > int(got["metadata"]["resourceVersion"])

    # A stale resourceVersion is refused with 409 Conflict.
    got["data"]["k"] = "stale"
    with pytest.raises(StatusError) as exc:
        await client.update(CONFIGMAPS, got, namespace)
    assert (exc.value.code, exc.value.reason) == (409, "Conflict")

    with pytest.raises(StatusError) as exc:
        await client.create(CONFIGMAPS, configmap("one"), namespace)
    assert (exc.value.code, exc.value.reason) == (409, "AlreadyExists")

    await client.delete(CONFIGMAPS, "one", namespace)
    with pytest.raises(StatusError) as exc:
        await client.get(CONFIGMAPS, "one", namespace)
    assert (exc.value.code, exc.value.reason) == (404, "NotFound")
    assert "one" in exc.value.message


async def test_namespace_defaults(client: Client, namespace: str) -> None:
    # With no namespace argument, single-object verbs use the object's namespace (then the client's default).
    obj = configmap("nsd")
    obj["metadata"]["namespace"] = namespace
    await client.create(CONFIGMAPS, obj)
    assert (await client.get(CONFIGMAPS, "nsd", namespace))["metadata"]["namespace"] == namespace
    # list with namespace=None is across all namespaces.
    everywhere = await client.list(CONFIGMAPS, field_selector=f"metadata.namespace={namespace}")
    assert [o["metadata"]["name"] for o in everywhere["items"]] == ["nsd"]
    assert client.namespace == "default"


async def test_patch_types(client: Client, namespace: str) -> None:
    await client.create(CONFIGMAPS, configmap("p", {"a": "1", "b": "2"}), namespace)
    merged = await client.patch(CONFIGMAPS, "p", {"data": {"a": None, "c": "3"}}, namespace)
    assert merged["data"] == {"b": "2", "c": "3"}
    jsonp = await client.patch(
        CONFIGMAPS, "p", [{"op": "replace", "path": "/data/b", "value": "20"}], namespace, patch_type="json"
    )
    assert jsonp["data"] == {"b": "20", "c": "3"}

    await client.create(DEPLOYMENTS, deployment("web"), namespace)
    smp = await client.patch(
        DEPLOYMENTS,
        "web",
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "2"}]}]}}
            }
        },
        namespace,
        patch_type="strategic",
    )
    env = smp["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"] for e in env} == {"A", "B"}  # merged by key, not replaced

    applied = await client.patch(
        CONFIGMAPS,
        "fresh",
        configmap("fresh", {"x": "1"}),
        namespace,
        patch_type="apply",
        field_manager="tests",
    )
    assert applied["data"] == {"x": "1"}
    with pytest.raises(ValueError):
        await client.patch(CONFIGMAPS, "fresh", {}, namespace, patch_type="apply")


async def test_delete_options_and_preconditions(client: Client, namespace: str) -> None:
    cm = await client.create(CONFIGMAPS, configmap("d"), namespace)
    with pytest.raises(StatusError) as exc:
        await client.delete(CONFIGMAPS, "d", namespace, preconditions={"uid": "not-the-uid"})
    assert exc.value.code == 409
    await client.delete(
        CONFIGMAPS,
        "d",
        namespace,
        propagation_policy="Background",
        preconditions={"uid": cm["metadata"]["uid"]},
    )
    with pytest.raises(StatusError):
        await client.get(CONFIGMAPS, "d", namespace)


async def test_non_status_error_body_and_raw_request(client: Client) -> None:
    version = await client.request("GET", "/version")
    assert version["major"] == "1"
    with pytest.raises(StatusError) as exc:
        await client.request("GET", "/no/such/path")
    assert exc.value.code == 404


async def test_connection_refused_names_the_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with Client(url) as c:
        with pytest.raises(ClientConnectionError) as exc:
            await c.get(CONFIGMAPS, "x", "default")
        assert url in str(exc.value) and "\n" not in str(exc.value)
        assert isinstance(exc.value, ConnectionError)
        with pytest.raises(ClientConnectionError):
            async with contextlib.aclosing(c.watch(CONFIGMAPS, "default")) as stream:
                async for _ in stream:
                    pass


async def test_watch_from_list_resource_version(client: Client, namespace: str) -> None:
    await client.create(CONFIGMAPS, configmap("before"), namespace)
    listed = await client.list(CONFIGMAPS, namespace)
    rv = listed["metadata"]["resourceVersion"]
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        async with contextlib.aclosing(
            client.watch(CONFIGMAPS, namespace, resource_version=rv, timeout_seconds=30)
        ) as stream:
            async for etype, obj in stream:
                seen.append((etype, obj["metadata"]["name"]))
                if etype == "DELETED":
                    return

    task = asyncio.create_task(consume())
    await client.create(CONFIGMAPS, configmap("w", {"a": "1"}), namespace)
    await client.patch(CONFIGMAPS, "w", {"data": {"a": "2"}}, namespace)
    await client.delete(CONFIGMAPS, "w", namespace)
    await asyncio.wait_for(task, 10)
    # Nothing from before the list's resourceVersion is replayed.
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_watch_synthetic_added_selectors_and_timeout(client: Client, namespace: str) -> None:
    await client.create(CONFIGMAPS, configmap("a", labels={"pick": "yes"}), namespace)
    await client.create(CONFIGMAPS, configmap("b", labels={"pick": "no"}), namespace)
    seen = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with contextlib.aclosing(
        client.watch(CONFIGMAPS, namespace, label_selector="pick=yes", timeout_seconds=1)
    ) as stream:
        async for etype, obj in stream:
            seen.append((etype, obj["metadata"]["name"]))
    # The server ended the stream after timeoutSeconds; only the matching object was sent.
    assert seen == [("ADDED", "a")]
    assert loop.time() - start < 10


@pytest.mark.slow
async def test_watch_too_old_resource_version_is_410(etcd) -> None:
    with running_apiserver(etcd.url, ["--watch-cache-size", "3"]) as server:
        async with Client(server.config()) as c:
            ns = await make_namespace(c)
            first = await c.create(CONFIGMAPS, configmap("old"), ns)
            # More changes than the watch cache keeps: the first revision falls out of its history.
            for i in range(6):
                await c.create(CONFIGMAPS, configmap(f"newer-{i}"), ns)
            # A consistent list waits until the watch cache has taken in every write: only then has the first
            # revision surely left its history (a watch from an old revision does not wait for the newest).
            await c.list(CONFIGMAPS, ns)
            with pytest.raises(StatusError) as exc:
                async with contextlib.aclosing(
                    c.watch(
                        CONFIGMAPS,
                        ns,
                        resource_version=first["metadata"]["resourceVersion"],
                        timeout_seconds=5,
                    )
                ) as stream:
                    async for _ in stream:
                        pass
            assert (exc.value.code, exc.value.reason) == (410, "Expired")


async def test_list_all_pages(client: Client, namespace: str) -> None:
    for i in range(7):
        await client.create(CONFIGMAPS, configmap(f"page-{i}"), namespace)
    everything = await client.list_all(CONFIGMAPS, namespace, page_size=3)
    assert sorted(o["metadata"]["name"] for o in everything["items"]) == [f"page-{i}" for i in range(7)]


def test_a_watch_stopped_early_leaves_nothing_open_when_the_loop_ends(apiserver) -> None:
    """A watch ended mid-stream (cancelled, or stopped by a timeout) and the client closed: once the event loop
    is gone, no socket or transport is left to close (each would be an unraisable ResourceWarning)."""
    leaks: list[str] = []

    async def stop_early(cancel: bool) -> None:
        c = Client(apiserver.config(), user_agent="kubelite-client-tests")
        if cancel:
            async with contextlib.aclosing(c.watch(CONFIGMAPS, "default")) as frames:
                reading = asyncio.create_task(anext(frames))
                await asyncio.sleep(0.2)
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    async for _ in c.watch(CONFIGMAPS, "default"):
                        pass
        await c.aclose()

    hook = sys.unraisablehook
    sys.unraisablehook = lambda u: leaks.append(f"{u.exc_value!r} in {u.object!r}")
    try:
        for cancel in (True, False) * 3:
            asyncio.run(stop_early(cancel))
            gc.collect()
    finally:
        sys.unraisablehook = hook
    assert leaks == []
