"""The apiserver's decoding limits, warning headers, the non-recursive encoder and the in-flight limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from apimachinery import errors, serialization
from apiserver import warning
from apiserver.decoding import DecodeError, loads_json, loads_yaml
from apiserver.inflight import InflightLimit, long_running
from apiserver.storable import check_storable


def test_iterative_encoder_matches_json() -> None:
    value = {"a": [1, 2.5, None, True, {"b": 'x"\n\u00e9'}], "c": {}, "d": []}
    assert json.loads(serialization._dumps_flat(value)) == value
    deep: Any = "end"
    for _ in range(5000):
        deep = {"k": [deep]}
    text = serialization.dumps(deep)
    assert text.count(b"[") == 5000 and text.endswith(b"]}" * 5000)


def test_document_problems() -> None:
    assert serialization.document_problem({"a": [1, "x", None, 2**63 - 1, -(2**63)]}) is None
    assert "64 bits" in (serialization.document_problem({"a": 2**64}) or "")
    assert "not finite" in (serialization.document_problem([float("inf")]) or "")
    nested: Any = {}
    for _ in range(101):
        nested = {"x": nested}
    assert "nested" in (serialization.document_problem(nested) or "")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10000,
        b"{" * 10000,
        b'"\\udfff"',
        b"1" * 5000,
        b"NaN",
        b'{"a":' + b"[" * 100 + b"]" * 100 + b"}",
    ],
)
def test_json_refusals(body: bytes) -> None:
    with pytest.raises(DecodeError):
        loads_json(body)


def test_yaml_budget() -> None:
    ok = b"a: &x {b: [1, 2, 3]}\nc: *x\nd: *x\n"
    assert loads_yaml(ok) == {"a": {"b": [1, 2, 3]}, "c": {"b": [1, 2, 3]}, "d": {"b": [1, 2, 3]}}
    lines = [b'a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate(b"bcdefg"):
        prev = b"abcdefg"[i : i + 1]
        lines.append(bytes([name]) + b": &" + bytes([name]) + b" [" + b",".join([b"*" + prev] * 10) + b"]")
    with pytest.raises(DecodeError, match="excessive aliasing"):
        loads_yaml(b"\n".join(lines))
    with pytest.raises(DecodeError, match="expands to more than"):
        loads_yaml(b'a: &a "' + b"x" * 2000 + b'"\nb: [' + b",".join([b"*a"] * 100) + b"]", max_bytes=100_000)
    with pytest.raises(DecodeError):
        loads_yaml(b"- " * 200 + b"x")
    with pytest.raises(DecodeError):
        loads_yaml(b"!!python/object/apply:os.system ['true']")


def test_warning_headers() -> None:
    with warning.collecting() as sink:
        warning.add('would violate "x"', 'would violate "x"', "caf\u00e9\nnext")
    assert sink == ['would violate "x"', "caf\u00e9\nnext"]
    assert warning.header_value('a "b" \\ c') == '299 - "a \\"b\\" \\\\ c"'
    assert warning.header_value("caf\u00e9\nnext") == '299 - "caf??next"'
    warning.add("outside a request")  # no sink: nothing happens


async def test_inflight_limit() -> None:
    release = asyncio.Event()
    answered: list[int] = []

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limit = InflightLimit(slow_app, read_only=1, mutating=1)

    async def request(method: str, path: str = "/api/v1/pods", query: bytes = b"") -> None:
        scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        await limit(scope, receive, send)

    first = asyncio.create_task(request("POST"))
    reader = asyncio.create_task(request("GET"))
    await asyncio.sleep(0)
    await request("PUT")  # over the mutating budget: answered at once
    watch = asyncio.create_task(request("GET", query=b"watch=true"))
    health = asyncio.create_task(request("GET", path="/readyz"))
    await asyncio.sleep(0)
    assert answered == [429]
    release.set()
    await asyncio.gather(first, reader, watch, health)
    assert sorted(answered) == [200, 200, 200, 200, 429]
    assert long_running({"path": "/api/v1/namespaces/a/pods/b/log", "query_string": b""})
    assert not long_running({"path": "/api/v1/pods", "query_string": b"watcher=true"})


def _nested(kind: type, levels: int) -> Any:
    root: Any = kind()
    node = root
    for _ in range(levels - 1):
        child = kind()
        if kind is dict:
            node["k"] = child
        else:
            node.append(child)
        node = child
    return root


@pytest.mark.parametrize(
    "obj",
    [
        {"a": [1, "x", None, True, 1.5, 2**64 - 1, -(2**63)], "b": {}},
        {"a": 2**64},
        {"a": [-(2**63) - 1]},
        {"a": {"b": float("nan")}},
        [float("-inf")],
        {"a": (1, 2)},  # not JSON: document_problem's own judgement
        *(_nested(kind, levels) for kind in (dict, list) for levels in (99, 100, 101)),
        {"deep": _nested(dict, 120), "big": 2**70},  # two problems: the one document_problem names first
    ],
)
def test_check_storable_answers_as_document_problem(obj: Any) -> None:
    problem = serialization.document_problem(obj)
    if problem is None:
        check_storable(obj)
        return
    with pytest.raises(errors.StatusError) as caught:
        check_storable(obj)
    assert caught.value.code == 400
    assert problem in caught.value.message
