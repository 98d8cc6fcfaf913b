"""The client's Retry-After handling and error translation, over `httpx.MockTransport` (no server needed)."""

from __future__ import annotations

import time

import httpx
import pytest

from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.kubeconfig import ClientConfig
from tests.factories import configmap
from tests.resources import CONFIGMAPS


def transport(responses: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses.pop(0)

    return httpx.MockTransport(handler)


OK = httpx.Response(200, json={"kind": "ConfigMap", "metadata": {"name": "x"}})


async def test_get_retries_after_429_and_503_honouring_retry_after() -> None:
    seen: list[httpx.Request] = []
    responses = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"kind": "Status", "code": 429}),
        httpx.Response(503, headers={"Retry-After": "0.2"}, text="busy"),
        OK,
    ]
    async with Client("http://test", transport=transport(responses, seen)) as c:
        start = time.monotonic()
        assert (await c.get(CONFIGMAPS, "x", "default"))["metadata"]["name"] == "x"
        assert time.monotonic() - start >= 0.2
    assert len(seen) == 3


async def test_retries_are_bounded() -> None:
    seen: list[httpx.Request] = []
    busy = [httpx.Response(503, headers={"Retry-After": "0"}, text="busy") for _ in range(10)]
    async with Client("http://test", transport=transport(busy, seen)) as c:
        with pytest.raises(StatusError) as exc:
            await c.get(CONFIGMAPS, "x", "default")
    assert (exc.value.code, exc.value.reason, exc.value.message) == (503, "ServiceUnavailable", "busy")
    assert exc.value.retry_after == 0
    assert len(seen) == 3


async def test_post_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    busy = [httpx.Response(503, headers={"Retry-After": "0"}, text="busy"), OK]
    async with Client("http://test", transport=transport(busy, seen)) as c:
        with pytest.raises(StatusError):
            await c.create(CONFIGMAPS, configmap("x"), "default")
    assert len(seen) == 1


async def test_request_shape_token_and_content_types() -> None:
    seen: list[httpx.Request] = []
    cfg = ClientConfig(server="http://test", token="sekret", namespace="team")
    responses = [OK, OK, OK]
    async with Client(cfg, transport=transport(responses, seen)) as c:
        await c.patch(CONFIGMAPS, "x", {"data": {}}, patch_type="strategic")
        await c.patch(CONFIGMAPS, "x", configmap("x"), patch_type="apply", field_manager="me", force=True)
        await c.delete(CONFIGMAPS, "x", propagation_policy="Foreground", grace_period_seconds=0)
    assert seen[0].url.path == "/api/v1/namespaces/team/configmaps/x"
    assert seen[0].headers["content-type"] == "application/strategic-merge-patch+json"
    assert seen[0].headers["authorization"] == "Bearer sekret"
    assert seen[1].headers["content-type"] == "application/apply-patch+yaml"
    assert dict(seen[1].url.params) == {"fieldManager": "me", "force": "true"}
    assert seen[2].method == "DELETE"
    assert (
        b'"propagationPolicy":"Foreground"' in seen[2].content
        and b'"gracePeriodSeconds":0' in seen[2].content
    )


async def test_watch_error_frame_raises() -> None:
    body = (
        b'{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}\n'
        b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}\n'
    )
    seen: list[httpx.Request] = []
    async with Client("http://test", transport=transport([httpx.Response(200, content=body)], seen)) as c:
        got = []
        with pytest.raises(StatusError) as exc:
            async for etype, obj in c.watch(CONFIGMAPS, "ns", resource_version="3", timeout_seconds=10):
                got.append((etype, obj["metadata"]["name"]))
    assert got == [("ADDED", "a")]
    assert (exc.value.code, exc.value.reason) == (410, "Expired")
    assert dict(seen[0].url.params) == {"watch": "true", "resourceVersion": "3", "timeoutSeconds": "10"}
