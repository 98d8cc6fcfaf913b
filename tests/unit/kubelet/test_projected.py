"""The kubelet's projected volume files: atomic swaps through `..data`, paths checked, downward API values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelet.projected import VolumeError, check_path, field_value, write_atomically


def test_files_are_swapped_in_atomically(tmp_path: Path) -> None:
    vol = tmp_path / "kube-api-access-x"
    write_atomically(vol, {"token": (b"one", 0o644), "ca.crt": (b"CA", 0o644), "dir/inner": (b"x", 0o600)})
    assert (vol / "token").read_bytes() == b"one" and os.readlink(vol / "token") == "..data/token"
    first = os.readlink(vol / "..data")
    write_atomically(vol, {"token": (b"two", 0o644), "ca.crt": (b"CA", 0o644), "dir/inner": (b"x", 0o600)})
    assert (vol / "token").read_bytes() == b"two"
    assert os.readlink(vol / "..data") != first and not (vol / first).exists()  # the old copy is gone
    assert oct((vol / "dir" / "inner").stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in vol.iterdir() if not p.name.startswith("..")) == ["ca.crt", "dir", "token"]


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", "..data/token", ""])
def test_paths_from_the_api_are_checked_again(bad: str) -> None:
    with pytest.raises(VolumeError):
        check_path(bad)
    assert check_path("token") == "token"


def test_downward_api_fields() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"b": "2", "a": "1"}}}
    assert field_value(pod, "metadata.namespace") == "ns"
    assert field_value(pod, "metadata.labels") == 'a="1"\nb="2"'
    assert field_value(pod, "metadata.labels['b']") == "2"
    with pytest.raises(VolumeError):
        field_value(pod, "spec.nodeName")


async def test_tokens_are_requested_bound_to_the_pod_and_refreshed(tmp_path: Path) -> None:
    import datetime as dt
    import json

    import httpx

    from apimachinery.client import Client
    from apiserver.admission.serviceaccount import api_access_volume
    from kubelet.projected import ProjectedVolumes

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
    volumes = ProjectedVolumes(client, tmp_path)
    try:
        await volumes.prepare(pod)
        vol = tmp_path / "pods" / "pod-uid" / "volumes" / "kubernetes.io~projected" / "kube-api-access-abcde"
        assert (vol / "token").read_text() == "token-1"
        assert (vol / "ca.crt").read_text() == "CA PEM" and (vol / "namespace").read_text() == "ns"
        assert issued[0]["spec"]["boundObjectRef"] == {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": "p",
            "uid": "pod-uid",
        }
        assert issued[0]["spec"]["expirationSeconds"] == 3607
        await volumes.prepare(pod)  # a second container of the pod: the fresh token is reused
        await volumes.refresh([pod])  # not due yet
        assert len(issued) == 1
        # 80% of its life has passed: the next refresh writes a new one.
        key = next(iter(volumes.tokens))
        issued_at, expires = volumes.tokens[key]
        volumes.tokens[key] = (
            issued_at - 0.81 * (expires - issued_at),
            expires - 0.81 * (expires - issued_at),
        )
        await volumes.refresh([pod])
        assert (vol / "token").read_text() == "token-2"
    finally:
        await client.aclose()
