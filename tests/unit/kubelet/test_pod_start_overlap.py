"""What lets a new pod start sooner (#24) without changing what it gets: reads shared by pods syncing together, a
projected volume's sources read at once, the start events the kubelet caused itself, and which containers may be
created before the pod has its IP."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import httpx
import pytest

from apimachinery.client import Client
from apimachinery.writerpool import WriterPool
from apiserver.admission.serviceaccount import api_access_volume
from kubelet.env import uses_pod_ip
from kubelet.runtime.docker import DockerRuntime, RuntimeFailure
from kubelet.runtime.engine import EngineError
from kubelet.volumes.projected import Tokens, payload
from kubelet.volumes.sources import ConfigError, ObjectCache

CA = {"data": {"ca.crt": "CA PEM"}}


def _not_found() -> httpx.Response:
    return httpx.Response(404, json={"kind": "Status", "code": 404, "reason": "NotFound", "message": "no"})


async def test_pods_reading_one_configmap_at_once_share_one_read() -> None:
    reads: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        reads.append(request.url.path)
        await asyncio.sleep(0.05)  # every pod asks while the first read is on its way
        if request.url.path.endswith("/configmaps/kube-root-ca.crt"):
            return httpx.Response(200, json=CA)
        return _not_found()

    cache = ObjectCache(Client("https://apiserver.test", transport=httpx.MockTransport(answer)))
    got = await asyncio.gather(*(cache.get("configMap", "ns", "kube-root-ca.crt") for _ in range(30)))
    assert reads == ["/api/v1/namespaces/ns/configmaps/kube-root-ca.crt"]
    assert all(g == CA for g in got)
    # Another object is another read; a missing one is None for each of its readers.
    missing = await asyncio.gather(*(cache.get("secret", "ns", "gone") for _ in range(3)))
    assert missing == [None, None, None] and len(reads) == 2


async def test_a_failed_shared_read_fails_each_reader_and_is_not_kept() -> None:
    calls = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        if calls == 1:
            return httpx.Response(
                403, json={"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no"}
            )
        return httpx.Response(200, json=CA)

    cache = ObjectCache(Client("https://apiserver.test", transport=httpx.MockTransport(answer)))
    got = await asyncio.gather(*(cache.get("configMap", "ns", "x") for _ in range(5)), return_exceptions=True)
    assert calls == 1 and all(isinstance(g, ConfigError) for g in got)
    assert await cache.get("configMap", "ns", "x") == CA and calls == 2


async def test_projected_sources_are_read_at_once_and_the_first_failing_source_is_the_error() -> None:
    in_flight = peak = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        if request.url.path.endswith("/serviceaccounts/default/token"):
            body = json.loads(request.content)
            return httpx.Response(201, json={**body, "status": {"token": "tok", "expirationTimestamp": ""}})
        if request.url.path.endswith("/configmaps/kube-root-ca.crt"):
            return httpx.Response(200, json=CA)
        return _not_found()

    client = Client("https://apiserver.test", transport=httpx.MockTransport(answer))
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {}}
    volume = api_access_volume("kube-api-access-x")
    files = await payload(ObjectCache(client), Tokens(WriterPool(client, 1)), pod, volume, {})
    assert peak == 2  # the token request and the ConfigMap read overlapped
    assert files["token"][0] == b"tok" and files["ca.crt"][0] == b"CA PEM" and files["namespace"][0] == b"ns"
    # Two failing sources: the error is the first one's, in the volume's order.
    bad = {"name": "v", "projected": {"sources": [
        {"configMap": {"name": "first-missing"}}, {"secret": {"name": "second-missing"}},
    ]}}  # fmt: skip
    with pytest.raises(ConfigError, match='configmap "first-missing" not found'):
        await payload(ObjectCache(client), Tokens(WriterPool(client, 1)), pod, bad, {})


async def test_only_the_start_events_of_the_kubelets_own_starts_are_known_as_its_own() -> None:
    async def start(container_id: str) -> None:
        if container_id == "broken":
            raise EngineError(500, "OCI runtime create failed")

    engine = SimpleNamespace(start=start)
    runtime = DockerRuntime("n1", client=SimpleNamespace(api=None), workers=2, engine=engine)  # type: ignore[arg-type]
    try:
        await runtime.start("c1")
        assert runtime.started_here("c1")
        assert not runtime.started_here("c1")  # once: a later start (docker start by hand) is not ours
        assert not runtime.started_here("someone-elses")
        with pytest.raises(RuntimeFailure):
            await runtime.start("broken")
        assert not runtime.started_here("broken")
    finally:
        runtime._pool.shutdown(wait=True)


def test_containers_whose_env_holds_the_pod_ip_wait_for_it() -> None:
    def ref(path: str) -> dict:
        return {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": path}}}

    assert uses_pod_ip({"name": "c", "env": [{"name": "A", "value": "1"}, ref("status.podIP")]})
    assert uses_pod_ip({"name": "c", "env": [ref("status.podIPs")]})
    assert not uses_pod_ip({"name": "c", "env": [ref("status.hostIP"), ref("metadata.name")]})
    assert not uses_pod_ip({"name": "c", "env": [{"name": "A", "value": "status.podIP"}]})
    assert not uses_pod_ip({"name": "c"})
