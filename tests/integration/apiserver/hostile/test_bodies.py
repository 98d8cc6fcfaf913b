"""Request bodies: the JSON, YAML, protobuf and patch zoo. Each is refused with its exact 4xx and a Status."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.apiserver.hostile.helpers import Hostile, assert_status

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"

ALIAS_BOMB = b"""apiVersion: v1
kind: ConfigMap
metadata: {name: bomb}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
"""

BODIES = [
    # (content type, body, code, reason)
    (JSON, b"{nope", 400, "BadRequest"),
    (JSON, b"", 400, "BadRequest"),
    (JSON, b"[1,2]", 400, "BadRequest"),
    (JSON, b'"a string"', 400, "BadRequest"),
    (JSON, b"\xff\xfe{}", 400, "BadRequest"),
    (JSON, b'{"metadata":{"name":"x"},"data":' + b"[" * 10000 + b"]" * 10000 + b"}", 400, "BadRequest"),
    (JSON, b'{"metadata":{"name":"x"},"data":' + b"[" * 101 + b"]" * 101 + b"}", 400, "BadRequest"),
    (JSON, b'{"metadata":{"name":"x"},"data":{"a":"\\ud800"}}', 400, "BadRequest"),
    (JSON, b'{"metadata":{"name":"x"},"n":' + b"9" * 5000 + b"}", 400, "BadRequest"),
    (JSON, b'{"metadata":{"name":"x"},"n":1e999}', 400, "BadRequest"),
    (JSON, b'{"metadata":{"name":"x"},"n":NaN}', 400, "BadRequest"),
    (JSON, b'{"metadata":"x"}', 400, "BadRequest"),
    (JSON, b'{"metadata":{"name":["x"]}}', 422, "Invalid"),
    (JSON, b'{"metadata":{"name":"x","labels":["a"]}}', 422, "Invalid"),
    (JSON, b'{"metadata":{"name":"x","annotations":{"a":' + b"1" + b"}}}", 422, "Invalid"),
    (JSON, b'{"kind":"Pod","metadata":{"name":"x"}}', 400, "BadRequest"),
    (JSON, b'{"apiVersion":"v2","metadata":{"name":"x"}}', 400, "BadRequest"),
    (YAML, b"a: [b", 400, "BadRequest"),
    (YAML, ALIAS_BOMB, 400, "BadRequest"),
    (YAML, b"metadata: {name: x}\ndata: " + b"[" * 10000, 400, "BadRequest"),
    (YAML, b"metadata: {name: x}\ndata: " + b"- " * 500 + b"x", 400, "BadRequest"),
    (YAML, b"metadata: {name: x}\nn: .inf", 400, "BadRequest"),
    (YAML, b"metadata: {name: x}\nn: 999999999999999999999999", 400, "BadRequest"),
    (YAML, b"metadata: {name: x}\n---\nmetadata: {name: y}", 400, "BadRequest"),
    (YAML, b"!!python/object/apply:os.system ['id']", 400, "BadRequest"),
    (YAML, b"\xff", 400, "BadRequest"),
    (PROTOBUF, b"\x00", 400, "BadRequest"),
    (PROTOBUF, b"k8s\x00" + b"\x0a\xff\xff\xff\xff\x0f", 400, "BadRequest"),
    (PROTOBUF, b"k8s\x00" + b"\x0a" * 200000, 400, "BadRequest"),
    (PROTOBUF, b"k8s\x00\x12\x00", 415, "UnsupportedMediaType"),  # no kind: JSON is asked for
    ("application/cbor", b"\xa0", 415, "UnsupportedMediaType"),
    ("text/html", b"<html>", 415, "UnsupportedMediaType"),
]


@pytest.mark.parametrize(("ctype", "body", "code", "reason"), BODIES, ids=lambda v: repr(v)[:40])
def test_bad_bodies(api: httpx.Client, ns: str, ctype: str, body: bytes, code: int, reason: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/configmaps", content=body, headers={"Content-Type": ctype})
    assert_status(r, code, reason)


def test_bodies_that_are_too_big(api: httpx.Client, ns: str) -> None:
    big = b'{"metadata":{"name":"big"},"data":{"x":"' + b"a" * (3 * 1024 * 1024) + b'"}}'
    assert_status(api.post(f"/api/v1/namespaces/{ns}/configmaps", content=big), 413, "RequestEntityTooLarge")
    # Under the request limit but over what etcd stores (1.5 MiB): refused before storage, the same on SQLite.
    large = b'{"metadata":{"name":"large"},"data":{"x":"' + b"a" * (2 * 1024 * 1024) + b'"}}'
    assert_status(
        api.post(f"/api/v1/namespaces/{ns}/configmaps", content=large), 413, "RequestEntityTooLarge"
    )
    # A Content-Length over the limit is refused before any body is read (see test_http for the raw exchange).


def test_a_legitimate_yaml_anchor_still_works(api: httpx.Client, ns: str) -> None:
    body = b"metadata: {name: anchors, labels: &l {app: web}, annotations: *l}\n"
    r = api.post(f"/api/v1/namespaces/{ns}/configmaps", content=body, headers={"Content-Type": YAML})
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["annotations"] == {"app": "web"}


PATCHES = [
    # (content type, body, code)
    ("application/json-patch+json", b'{"op":"add"}', 400),
    ("application/json-patch+json", b'[{"op":"nope","path":"/data"}]', 422),
    ("application/json-patch+json", b'[{"op":"add","path":"data","value":1}]', 422),
    ("application/json-patch+json", b'[{"op":"remove","path":"/metadata/nope"}]', 422),
    ("application/json-patch+json", b'[{"op":"test","path":"/data/k","value":"other"}]', 422),
    ("application/json-patch+json", b'[{"op":"move","from":"/data","path":"/data/k/x"}]', 422),
    ("application/json-patch+json", b'[{"op":"replace","path":"","value":[]}]', 422),
    (
        "application/json-patch+json",
        b'[{"op":"add","path":"/data/k","value":' + b"[" * 200 + b"]" * 200 + b"}]",
        400,
    ),
    (
        "application/json-patch+json",
        b"[" + b",".join([b'{"op":"test","path":"/data","value":{}}'] * 10001) + b"]",
        413,
    ),
    ("application/merge-patch+json", b"null", 400),
    ("application/merge-patch+json", b'{"metadata":{"name":"other"}}', 400),
    ("application/merge-patch+json", b'{"data":{"k":' + b"[" * 150 + b"]" * 150 + b"}}", 400),
    ("application/merge-patch+json", b'{"metadata":{"resourceVersion":"1"}}', 409),
    ("application/strategic-merge-patch+json", b"[]", 400),
    (
        "application/strategic-merge-patch+json",
        b'{"metadata":{"labels":{"$patch":"replace","a\\n":"b"}}}',
        422,
    ),
    ("application/apply-patch+yaml", b"a: [b", 400),
    ("application/apply-patch+yaml", ALIAS_BOMB, 400),
    ("application/xml", b"<a/>", 415),
]


@pytest.mark.parametrize(("ctype", "body", "code"), PATCHES, ids=lambda v: repr(v)[:40])
def test_bad_patches(hostile: Hostile, ns: str, ctype: str, body: bytes, code: int) -> None:
    api = hostile.api
    r = api.post(
        f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "target"}, "data": {"k": "v"}}
    )
    assert r.status_code == 201, r.text
    before = r.json()
    params = {"fieldManager": "hostile"} if "apply" in ctype else {}
    r = api.patch(
        f"/api/v1/namespaces/{ns}/configmaps/target",
        content=body,
        headers={"Content-Type": ctype},
        params=params,
    )
    assert_status(r, code)
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/target").json() == before


def test_json_patch_copy_bomb_is_413(api: httpx.Client, ns: str) -> None:
    r = api.post(
        f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "cb"}, "data": {"k": "x" * 1000}}
    )
    assert r.status_code == 201
    ops = [{"op": "copy", "from": "/data", "path": f"/d{i}"} for i in range(5000)]
    r = api.patch(
        f"/api/v1/namespaces/{ns}/configmaps/cb",
        json=ops,
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert_status(r, 413, "RequestEntityTooLarge")
    doubling = [{"op": "add", "path": "/d", "value": ["x" * 100]}]
    doubling += [{"op": "copy", "from": "/d", "path": "/d/-"} for _ in range(30)]
    r = api.patch(
        f"/api/v1/namespaces/{ns}/configmaps/cb",
        json=doubling,
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code in (400, 413), r.text
