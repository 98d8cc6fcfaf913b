"""HTTP framing on raw sockets: malformed requests, header limits, idle and slow clients, the in-flight limit.

The apiserver of this suite runs with a 2 s header deadline, a 2 s body deadline and at most 4 mutating requests
in flight (conftest.FLAGS), so every case here finishes in seconds.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.apiserver.hostile.helpers import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    MAX_MUTATING,
    Hostile,
    tls_connection,
)
from tests.polling import wait_until


def _inflight(hostile: Hostile) -> float:
    text = hostile.api.get("/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith('apiserver_current_inflight_requests{request_kind="mutating"}'):
            return float(line.split()[-1])
    return 0.0


@contextlib.contextmanager
def connection(hostile: Hostile) -> Iterator[socket.socket]:
    sock = tls_connection(hostile.server)
    try:
        yield sock
    finally:
        sock.close()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, Any] | None]:
    """(status code, headers, JSON body or None); b"" from the server (closed without answer) is code 0."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return (0, {}, None) if not data else _parse(data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    headers = _headers(head)
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ")[1]), headers, json.loads(body) if body else None


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _parse(data: bytes) -> tuple[int, dict[str, str], dict[str, Any] | None]:
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), _headers(head), json.loads(body) if body else None


def closed_by_server(sock: socket.socket, within: float) -> float:
    """Seconds until the server closes `sock` (recv returns b""); fails if it stays open past `within`."""
    start = time.monotonic()
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for more than {within}s")
    return time.monotonic() - start


FRAMING = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\n\r\n", 400),
    (b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    (
        b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    ),
    (b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
    (b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nX: \x00\r\n\r\n", 400),
    (b"GET /api/v1/pods HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(300)) + b"\r\n", 431),
    (b"GET /api/v1/pods HTTP/1.1\r\nX-Big: " + b"v" * (1 << 20) + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    (
        b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999\r\n\r\n",
        413,
    ),
]


@pytest.mark.parametrize(("raw", "code"), FRAMING, ids=lambda v: repr(v)[:40])
def test_malformed_requests_get_a_status(hostile: Hostile, raw: bytes, code: int) -> None:
    with connection(hostile) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        got, headers, body = read_response(sock)
    assert got == code, (got, body)
    assert headers.get("content-type") == "application/json"
    assert body is not None and body["kind"] == "Status" and body["code"] == code, body


def test_an_idle_connection_is_closed(hostile: Hostile) -> None:
    with connection(hostile) as sock:
        waited = closed_by_server(sock, HEADER_TIMEOUT + 5)
    assert HEADER_TIMEOUT - 0.5 <= waited <= HEADER_TIMEOUT + 3


def test_many_idle_sockets_are_all_closed(hostile: Hostile) -> None:
    socks = [tls_connection(hostile.server) for _ in range(300)]
    try:
        deadline = time.monotonic() + HEADER_TIMEOUT + 10
        for sock in socks:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            assert sock.recv(1) == b"", "an idle connection was answered instead of closed"
        # and the server still serves
        assert hostile.api.get("/api/v1/namespaces", timeout=5).status_code == 200
    finally:
        for sock in socks:
            sock.close()


def test_slowloris_headers_get_408_then_close(hostile: Hostile) -> None:
    with connection(hostile) as sock:
        sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        for _ in range(int(HEADER_TIMEOUT * 4)):  # one header byte every 0.5 s: never completes
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            # Has the server answered (a TLS record waiting)? Look without reading it.
            if sock.pending() or select.select([sock], [], [], 0.5)[0]:
                break
        sock.settimeout(5)
        code, _, body = read_response(sock)
    assert code == 408 and body is not None and body["reason"] == "Timeout", body
    assert time.monotonic() - start < HEADER_TIMEOUT + 3


def test_a_slow_body_gets_408(hostile: Hostile) -> None:
    with connection(hostile) as sock:
        sock.sendall(
            b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        start = time.monotonic()
        code, _, body = read_response(sock)
    assert code == 408 and body is not None and body["kind"] == "Status", body
    assert BODY_TIMEOUT - 0.5 <= time.monotonic() - start <= BODY_TIMEOUT + 3


def test_kept_alive_connection_closes_when_idle(hostile: Hostile) -> None:
    with connection(hostile) as sock:
        sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
        code, _, _ = read_response(sock)
        assert code == 200
        closed_by_server(sock, 10)


def test_mutating_requests_over_the_limit_get_429(hostile: Hostile) -> None:
    """Hold the mutating budget with requests whose bodies are still arriving; the next one is refused at once
    with 429 and Retry-After, reads are not, and the budget comes back when they finish."""
    held: list[socket.socket] = []
    try:
        for _ in range(MAX_MUTATING):
            sock = tls_connection(hostile.server)
            sock.sendall(
                b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"
            )
            held.append(sock)
        wait_until(lambda: _inflight(hostile) == MAX_MUTATING, 10, what="the held requests to be in flight")
        r = hostile.api.post("/api/v1/namespaces/default/configmaps", json={}, timeout=5)
        assert r.status_code == 429, r.text
        assert r.headers["retry-after"] == "1"
        body = r.json()
        assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 1
        assert hostile.api.get("/api/v1/namespaces", timeout=5).status_code == 200
        assert hostile.api.get("/readyz", timeout=5).status_code == 200
        metrics = hostile.api.get("/metrics", timeout=5).text
        assert 'apiserver_dropped_requests_total{request_kind="mutating"}' in metrics
    finally:
        for sock in held:
            sock.close()

    def admitted() -> bool:
        r = hostile.api.post(
            "/api/v1/namespaces/default/configmaps",
            json={"metadata": {"generateName": "after-"}},
            timeout=5,
        )
        return r.status_code == 201

    deadline = time.monotonic() + BODY_TIMEOUT + 5
    while not admitted():
        assert time.monotonic() < deadline, "the in-flight budget did not come back"
        time.sleep(0.2)
