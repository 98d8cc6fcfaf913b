"""The kubelet's API listens on every address; only its /healthz answers without credentials, and only to a caller
on loopback (a supervisor or probe on the node itself). From anywhere else /healthz needs credentials too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apimachinery.user import UserInfo
from kubelet.auth import AuthMiddleware


class NobodyAuth:
    """The authenticator of a caller without credentials (KubeletAuth's interface: authenticate, authorize)."""

    async def authenticate(self, scope: Any) -> UserInfo | None:
        return None

    async def authorize(self, user: UserInfo, method: str, path: str) -> tuple[bool, str]:
        raise AssertionError("an anonymous caller is never authorized")


def call(path: str, client: tuple[str, int] | None) -> tuple[int, bytes]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [],
        "client": client,
        "query_string": b"",
    }
    asyncio.run(AuthMiddleware(app, NobodyAuth())(scope, receive, send))  # type: ignore[arg-type]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


@pytest.mark.parametrize("client", [("127.0.0.1", 5000), ("::1", 5000), ("127.0.0.53", 1)])
def test_healthz_answers_loopback_without_credentials(client: tuple[str, int]) -> None:
    assert call("/healthz", client) == (200, b"ok")


@pytest.mark.parametrize("client", [("10.1.2.3", 5000), ("192.0.2.9", 40000), ("fe80::1", 1), None])
def test_healthz_from_elsewhere_needs_credentials(client: tuple[str, int] | None) -> None:
    assert call("/healthz", client) == (401, b"Unauthorized")


def test_every_other_path_needs_credentials_even_from_loopback() -> None:
    assert call("/pods", ("127.0.0.1", 5000)) == (401, b"Unauthorized")
    assert call("/metrics", ("127.0.0.1", 5000)) == (401, b"Unauthorized")
