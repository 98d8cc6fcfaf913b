"""Query strings and paths: the selector, list, watch and path zoo. Each gets its exact 4xx and a Status."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.integration.apiserver.hostile.helpers import assert_status

LIST = [
    ({"labelSelector": "a in (b"}, 400),
    ({"labelSelector": "a=b\n"}, 200),  # whitespace around a requirement, as Kubernetes' lexer allows
    ({"labelSelector": "=b"}, 400),
    ({"labelSelector": "a" * 64 + "=b"}, 400),
    ({"labelSelector": ",".join(f"a{i}=b" for i in range(2000))}, 200),
    ({"fieldSelector": "spec.nope=1"}, 400),
    ({"fieldSelector": "metadata.name"}, 400),
    ({"fieldSelector": "metadata.name=a,,b"}, 400),
    ({"limit": "many"}, 400),
    ({"limit": "99999999999999999999999"}, 400),
    ({"limit": "-5"}, 200),  # kube-apiserver treats a limit <= 0 as no limit
    ({"limit": "1", "continue": "garbage!!"}, 400),
    ({"limit": "1", "continue": base64.urlsafe_b64encode(b'{"rv":-1,"start":"x"}').decode()}, 400),
    (
        {
            "limit": "1",
            "continue": base64.urlsafe_b64encode(b'{"rv":99999999999999999999999,"start":"x"}').decode(),
        },
        400,
    ),
    ({"limit": "1", "continue": base64.urlsafe_b64encode(json.dumps(["x"]).encode()).decode()}, 400),
    ({"resourceVersion": "abc"}, 400),
    ({"resourceVersion": "-1"}, 400),
    ({"resourceVersion": "99999999999999999999999"}, 400),
    ({"resourceVersionMatch": "Exact", "resourceVersion": "x"}, 400),
    ({"timeoutSeconds": "1e3"}, 200),  # not a watch: ignored, as upstream
]


@pytest.mark.parametrize(("params", "code"), LIST, ids=lambda v: repr(v)[:50])
def test_list_parameters(api: httpx.Client, ns: str, params: dict[str, str], code: int) -> None:
    r = api.get(f"/api/v1/namespaces/{ns}/pods", params=params)
    if code == 200:
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "PodList"
    else:
        assert_status(r, code)


WATCH = [
    ({"resourceVersion": "abc"}, 400),
    ({"resourceVersion": "99999999999999999999999"}, 400),
    ({"labelSelector": "a in (b"}, 400),
    ({"fieldSelector": "x=y"}, 400),
    ({"timeoutSeconds": "soon"}, 400),
    ({"timeoutSeconds": "99999999999999999999999"}, 400),
]


@pytest.mark.parametrize(("params", "code"), WATCH, ids=lambda v: repr(v)[:50])
def test_watch_parameters(api: httpx.Client, ns: str, params: dict[str, str], code: int) -> None:
    r = api.get(f"/api/v1/namespaces/{ns}/pods", params={"watch": "true", **params})
    assert_status(r, code)


def test_watch_ends_on_its_own_with_odd_timeouts(api: httpx.Client, ns: str) -> None:
    for timeout in ("-1", "1"):  # 0 means "no timeout", as upstream
        with api.stream("GET", f"/api/v1/namespaces/{ns}/pods", params={"watch": "1", "timeoutSeconds": timeout},
                        timeout=10) as r:  # fmt: skip
            assert r.status_code == 200
            for _ in r.iter_bytes():
                pass  # the server ends the stream; a hang fails the test's timeout


def test_watch_from_a_future_revision_is_a_status_not_a_hang(api: httpx.Client, ns: str) -> None:
    rv = int(api.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"])
    with api.stream("GET", f"/api/v1/namespaces/{ns}/pods",
                    params={"watch": "1", "resourceVersion": str(rv + 10**12), "timeoutSeconds": "2"}) as r:  # fmt: skip
        body = b"".join(r.iter_bytes())
    assert r.status_code in (200, 504), body
    if r.status_code == 200 and body:
        frame = json.loads(body.splitlines()[0])
        assert frame["type"] == "ERROR" and frame["object"]["kind"] == "Status"


PATHS = [
    ("GET", "/api/v1/namespaces/{ns}/pods/%2e%2e/status", 404),
    ("GET", "/api/v1/namespaces/{ns}/pods/a/b/c/d", 404),
    ("GET", "/api/v1/namespaces/{ns}/pods/x/exec", 404),
    ("GET", "/api/v1/namespaces/%00/pods", 200),
    ("GET", "/apis/apps/v9/deployments", 404),
    ("GET", "/api/v1/pods/name-without-namespace", 404),
    ("POST", "/api/v1/namespaces/{ns}/pods/a", 405),
    ("PUT", "/api/v1/namespaces/{ns}/pods", 405),
    ("TRACE", "/api/v1/namespaces/{ns}/pods", 405),
    ("GET", "/api/v1/namespaces/{ns}/pods/missing/log", 404),
    ("POST", "/api/v1/namespaces/{ns}/pods/missing/eviction", 400),
    ("GET", "/openapi/v3/apis/nope/v1", 404),
    ("GET", "/" + "a/" * 3000, 404),
]


@pytest.mark.parametrize(("method", "path", "code"), PATHS, ids=lambda v: repr(v)[:50])
def test_paths(api: httpx.Client, ns: str, method: str, path: str, code: int) -> None:
    r = api.request(method, path.format(ns=ns))
    if code == 200:
        assert r.status_code == 200, r.text
    else:
        assert_status(r, code)


def test_log_options_are_checked(api: httpx.Client, ns: str) -> None:
    pod = {
        "metadata": {"name": "lp"},
        "spec": {"nodeName": "nowhere", "containers": [{"name": "c", "image": "i"}]},
    }
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
    for params in (
        {"tailLines": "-1"},
        {"limitBytes": "0"},
        {"sinceSeconds": "x"},
        {"container": "../../etc"},
    ):
        assert_status(api.get(f"/api/v1/namespaces/{ns}/pods/lp/log", params=params), 400, "BadRequest")
