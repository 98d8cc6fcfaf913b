"""The checks `kctl join` and `kctl up --advertise-address` make before any traffic: the apiserver URL, the
advertise address, the CA hash form; and `kctl token list`'s rows."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from apimachinery import bootstraptoken as bt
from cli.discovery import DiscoveryError, check_url, discover
from cli.errors import CLIError
from cli.token import cluster_info_kubeconfig, cluster_info_of, token_rows
from cli.up_preflight import check_advertise_address


@pytest.mark.parametrize(
    "url", ["https://10.0.0.1:6443", "https://10.0.0.1:6443/", "https://cp.example:6443"]
)
def test_good_urls(url: str) -> None:
    assert check_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:6443", "https://10.0.0.1:6443/api", "https://10.0.0.1:99999", "https://a_b:6443",
            "https://10.0.0.1:6443?x=1", "10.0.0.1:6443"],
)  # fmt: skip
def test_bad_urls_are_refused_before_any_request(url: str) -> None:
    with pytest.raises(DiscoveryError):
        check_url(url)


def test_a_malformed_ca_hash_is_refused_before_any_request() -> None:
    with pytest.raises(DiscoveryError, match="sha256:<64 hex digits>"):
        discover("https://10.0.0.1:6443", bt.Token.generate(), "sha256:abc")


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0", "224.0.0.1", "not-an-ip", "10.0.0.1\n"])
def test_advertise_address_must_be_a_reachable_ipv4_of_this_machine(address: str) -> None:
    with pytest.raises(CLIError):
        check_advertise_address(address)


def test_cluster_info_round_trip() -> None:
    text = cluster_info_kubeconfig("https://10.0.0.1:6443", b"PEM")
    assert cluster_info_of({"data": {"kubeconfig": text}}) == ("https://10.0.0.1:6443", b"PEM")


def test_token_rows() -> None:
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    token = bt.Token("abcdef", "0123456789abcdef")
    secret = bt.token_secret(token, ttl=3600, now=now, description="first")
    secret["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in secret.pop("stringData").items()}
    forever = bt.token_secret(bt.Token("zzzzzz", "0123456789abcdef"), ttl=None, now=now)
    forever["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in forever.pop("stringData").items()}
    rows = token_rows([secret, forever, {"type": "Opaque"}], now)
    assert rows == [
        ["abcdef.0123456789abcdef", "60m", "2026-12-05T13:00:00Z", "authentication,signing", "first",
         bt.DEFAULT_EXTRA_GROUP],
        ["zzzzzz.0123456789abcdef", "<forever>", "<never>", "authentication,signing", "<none>",
         bt.DEFAULT_EXTRA_GROUP],
    ]  # fmt: skip


def test_token_rows_print_the_expiry_in_utc() -> None:
    # A token Secret written by another tool may carry an offset; EXPIRES is UTC, as kubeadm prints it.
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    data = {
        "token-id": "abcdef",
        "token-secret": "0123456789abcdef",
        "expiration": "2026-12-05T15:30:00+02:00",
    }
    secret = {
        "type": bt.SECRET_TYPE,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    [row] = token_rows([secret], now)
    assert row[1:3] == ["90m", "2026-12-05T13:30:00Z"]


def test_token_secret_writes_the_expiry_in_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    now = dt.datetime(2026, 12, 5, 14, 0, tzinfo=plus_two)
    secret = bt.token_secret(bt.Token("abcdef", "0123456789abcdef"), ttl=60, now=now)
    assert secret["stringData"]["expiration"] == "2026-12-05T12:01:00Z"
