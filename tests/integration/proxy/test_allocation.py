"""Service address allocation through the real apiserver: concurrent creates never share an address."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.factories import Obj
from tests.harness import ApiServer

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(180)]

COUNT = 200


def _svc(name: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}], "selector": {"app": name}, **spec}}


async def _create_all(server: ApiServer, ns: str, count: int, **spec: Any) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=COUNT)
    async with server.async_client(timeout=60, limits=limits) as c:
        r = await c.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        assert r.status_code == 201, r.text
        return list(
            await asyncio.gather(
                *(
                    c.post(f"/api/v1/namespaces/{ns}/services", json=_svc(f"s{i}", **spec))
                    for i in range(count)
                )
            )
        )


def test_200_concurrent_creates_get_200_distinct_addresses(pool_apiserver: ApiServer) -> None:
    ns = f"alloc-{uuid.uuid4().hex[:6]}"
    responses = asyncio.run(_create_all(pool_apiserver, ns, COUNT, type="LoadBalancer"))
    assert [r.status_code for r in responses] == [201] * COUNT, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    specs = [r.json()["spec"] for r in responses]
    cluster_ips = {s["clusterIP"] for s in specs}
    node_ports = {s["ports"][0]["nodePort"] for s in specs}
    lb_ips = {r.json()["status"]["loadBalancer"]["ingress"][0]["ip"] for r in responses}
    assert len(cluster_ips) == len(node_ports) == len(lb_ips) == COUNT
    assert all(ip.startswith(("10.9", "10.10", "10.11")) for ip in cluster_ips)  # inside 10.96.0.0/12
    assert all(30000 <= p <= 32767 for p in node_ports)


def test_requested_addresses_are_honoured_refused_when_taken_and_released_on_delete(
    pool_apiserver: ApiServer,
) -> None:
    ns = f"alloc-{uuid.uuid4().hex[:6]}"
    with pool_apiserver.client(timeout=10) as c:
        # The module's other test leaves 200 Services holding random addresses: ask for ones none of them holds.
        held = c.get("/api/v1/services").json()["items"]
        held_ports = {p.get("nodePort") for svc in held for p in svc["spec"].get("ports") or []}
        held_ips = {svc["spec"].get("clusterIP") for svc in held}
        port = next(p for p in range(31777, 32768) if p not in held_ports)
        ip = next(f"10.96.7.{i}" for i in range(7, 255) if f"10.96.7.{i}" not in held_ips)
        assert c.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
        path = f"/api/v1/namespaces/{ns}/services"
        r = c.post(
            path,
            json=_svc("a", clusterIP=ip, type="NodePort", ports=[{"port": 80, "nodePort": port}]),
        )
        assert r.status_code == 201, r.text
        assert r.json()["spec"]["clusterIP"] == ip
        taken_ip = c.post(path, json=_svc("b", clusterIP=ip))
        assert taken_ip.status_code == 422 and "already allocated" in taken_ip.text
        taken_port = c.post(path, json=_svc("c", type="NodePort", ports=[{"port": 80, "nodePort": port}]))
        assert taken_port.status_code == 422
        out_of_range = c.post(path, json=_svc("d", clusterIP="192.0.2.9"))
        assert out_of_range.status_code == 422
        headless = c.post(path, json=_svc("h", clusterIP="None"))
        assert headless.status_code == 201 and headless.json()["spec"]["clusterIP"] == "None"
        assert c.delete(f"{path}/a").status_code == 200
        again = c.post(
            path,
            json=_svc("e", clusterIP=ip, type="NodePort", ports=[{"port": 80, "nodePort": port}]),
        )
        assert again.status_code == 201, again.text
