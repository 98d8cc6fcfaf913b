"""Projected volumes: the ServiceAccount token bound to the pod and reused until 80% of its life, the root CA,
the namespace; sources that would write the same path are refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx

from apimachinery.client import Client
from apiserver.admission.serviceaccount import api_access_volume
from kubelet.volumes.manager import ApiVolumes


async def test_tokens_are_requested_bound_to_the_pod_and_refreshed(tmp_path: Path) -> None:
    issued: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/serviceaccounts/app/token"):
            body = json.loads(request.content)
            issued.append(body)
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=body["spec"]["expirationSeconds"])
            status = {
                "token": f"token-{len(issued)}",
                "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            return httpx.Response(201, json={**body, "status": status})
        if request.url.path == "/api/v1/namespaces/ns/configmaps/kube-root-ca.crt":
            return httpx.Response(200, json={"data": {"ca.crt": "CA PEM"}})
        return httpx.Response(
            404, json={"kind": "Status", "code": 404, "reason": "NotFound", "message": "no"}
        )

    client = Client("https://apiserver.test", transport=httpx.MockTransport(answer))
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "uid": "pod-uid"},
        "spec": {"serviceAccountName": "app", "volumes": [api_access_volume("kube-api-access-abcde")]},
    }
    volumes = ApiVolumes(client, tmp_path, tmpfs=False)
    try:
        assert await volumes.set_up(pod) == []
        vol = tmp_path / "pods" / "pod-uid" / "volumes" / "kubernetes.io~projected" / "kube-api-access-abcde"
        assert (vol / "token").read_text() == "token-1"
        assert (vol / "ca.crt").read_text() == "CA PEM" and (vol / "namespace").read_text() == "ns"
        assert oct(vol.parent.stat().st_mode & 0o777) == oct(0o700)  # tokens: only root on the host
        assert issued[0]["spec"]["boundObjectRef"] == {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": "p",
            "uid": "pod-uid",
        }
        assert issued[0]["spec"]["expirationSeconds"] == 3607
        assert await volumes.set_up(pod) == []  # the next sync: the fresh token is reused
        assert len(issued) == 1
        # 80% of its life has passed: the next sync writes a new one.
        key = next(iter(volumes.tokens.issued))
        issued_at, expires, token = volumes.tokens.issued[key]
        life = expires - issued_at
        volumes.tokens.issued[key] = (issued_at - 0.81 * life, expires - 0.81 * life, token)
        assert await volumes.set_up(pod) == []
        assert (vol / "token").read_text() == "token-2"
        await volumes.tear_down("pod-uid")
        assert volumes.tokens.issued == {}
    finally:
        await client.aclose()
