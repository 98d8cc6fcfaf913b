"""Who may use the dashboard: whoever holds its access token, and only from a page it served.

The dashboard acts with the credentials of the user who started it, so it must not act for anyone else:
* Every request but /healthz needs the access token: a random secret made at start and printed in the URL
  (like a Jupyter server). The first request brings it in `?token=`; the answer sets it as an HttpOnly,
  SameSite=Strict cookie and redirects to the same URL without it, so it stays out of history and Referer.
  `Authorization: Bearer <token>` works too (scripts, /metrics scrapers).
* On loopback the Host header must name loopback: another web site cannot rebind its name to 127.0.0.1.
* A change (POST) also needs the CSRF token of the form it came from, compared in constant time.
* Every answer forbids framing, inline scripts and anything from other origins (a strict CSP): the pages print
  names, labels, messages and log lines from the API, and none of them may become markup or code.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

COOKIE = "kubelite_dashboard"
OPEN_PATHS = frozenset({"/healthz"})
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def host_is_loopback(host_header: str) -> bool:
    """Whether a Host header ("127.0.0.1:8686", "[::1]:8686", "localhost:8686") names this machine's loopback."""
    host = host_header.strip()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback(host)


class Secrets:
    """The access token and the CSRF token of one dashboard process (never written to disk)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.csrf = secrets.token_urlsafe(32)

    def is_token(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.token.encode())

    def is_csrf(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.csrf.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def guard(
    keys: Secrets, *, loopback: bool
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The HTTP middleware that enforces the rules of this module's docstring."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await _check(request, call_next)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _check(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if loopback and not host_is_loopback(request.headers.get("host", "")):
            return PlainTextResponse("this dashboard answers only to a loopback Host", status_code=421)
        if request.url.path in OPEN_PATHS:
            return await call_next(request)
        query_token = request.query_params.get("token")
        if keys.is_token(query_token) and request.method == "GET":
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            redirect = RedirectResponse(target, status_code=303)
            redirect.set_cookie(
                COOKIE, keys.token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
            )
            return redirect
        if not (keys.is_token(request.cookies.get(COOKIE)) or keys.is_token(_bearer(request))):
            return PlainTextResponse(
                "401 Unauthorized: open the URL with the token that kctl dashboard printed", status_code=401
            )
        return await call_next(request)

    return middleware
