"""bench/floor.py's floor server, on a real etcd over the apiserver's TLS: a create is one put-if-absent, a second
create of the same name is refused, and two processes share one port."""

from __future__ import annotations

import json
import uuid

import aetcd
import httpx

from apiserver.storage.etcd import parse_endpoints
from bench.floor import PREFIX, FloorServers
from tests import harness
from tests.harness import Etcd


async def _stored(etcd: Etcd, key: str) -> bytes | None:
    host, port = parse_endpoints(etcd.url)[0]
    async with aetcd.Client(host, port) as client:
        got = await client.get(key.encode())
    return got.value if got is not None else None


async def test_a_floor_create_is_one_put_if_absent(etcd: Etcd) -> None:
    pki = harness.test_pki()
    name = f"floor-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": []}}
    path = "/api/v1/namespaces/bench/pods"
    with FloorServers(etcd.url, pki.apiserver_cert, pki.apiserver_key, pki.ca_file, processes=2) as floor:
        assert len(floor.pids()) == 2
        async with httpx.AsyncClient(base_url=floor.url, verify=pki.ssl_context(), timeout=10) as client:
            created = await client.post(path, json=body)
            again = await client.post(path, json=body)
            nameless = await client.post(path, json={"metadata": {}})
        answers = []
        for i in range(8):  # fresh connections, which the kernel hands to either process: each is answered
            async with httpx.AsyncClient(base_url=floor.url, verify=pki.ssl_context(), timeout=10) as client:
                answers.append(await client.post(path, json={"metadata": {"name": f"{name}-{i}"}}))
    assert floor.procs == []
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["metadata"]["name"] == name and int(answer["metadata"]["resourceVersion"]) > 0
    assert again.status_code == 409 and nameless.status_code == 400
    assert [a.status_code for a in answers] == [201] * 8
    assert json.loads(await _stored(etcd, f"{PREFIX}{path}/{name}") or b"null") == body
