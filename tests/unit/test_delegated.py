"""The pieces of delegated auth and secure serving that need no apiserver: the bearer header, what counts as
loopback, the serving options' errors, and the TTL cache."""

from __future__ import annotations

import argparse

import pytest

from apimachinery.component import is_loopback
from apimachinery.delegated import TTLCache, bearer_token
from apimachinery.secureserving import add_secure_serving_args, serving_args_error


def test_bearer_token() -> None:
    assert bearer_token([(b"Authorization", b"Bearer abc ")]) == "abc"
    assert bearer_token([(b"authorization", b"bearer abc")]) == "abc"
    assert bearer_token([(b"authorization", b"Basic abc")]) is None
    assert bearer_token([(b"authorization", b"Bearer  ")]) is None
    assert bearer_token([]) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.5.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("", False), ("::", False), ("10.0.0.1", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--bind-address", default="127.0.0.1")
    add_secure_serving_args(p)
    return p.parse_args(argv)


def test_serving_args_error() -> None:
    assert serving_args_error(parse()) is None
    assert "loopback only" in (serving_args_error(parse("--bind-address", "0.0.0.0")) or "")
    assert "needs --tls-cert-file" in (serving_args_error(parse("--secure-port", "1")) or "")
    missing = parse(
        "--secure-port", "1", "--tls-cert-file", "/nonexistent.crt", "--tls-private-key-file", "/x"
    )
    assert serving_args_error(missing) == "--tls-cert-file /nonexistent.crt: no such file"


def test_ttl_cache_expires_and_is_bounded() -> None:
    cache = TTLCache(limit=2)
    cache.put("a", 1, ttl=60)
    cache.put("gone", 2, ttl=-1)
    assert (cache.get("a"), cache.get("gone")) == (1, None)
    cache.put("b", 3, ttl=60)
    cache.put("c", 4, ttl=60)  # full: cleared whole rather than grown
    assert (cache.get("a"), cache.get("c")) == (None, 4)
