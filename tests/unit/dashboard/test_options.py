"""`kctl dashboard`'s options: what it passes on, and what it refuses before starting anything."""

from __future__ import annotations

import pytest

from cli.main import run
from cli.session import GLOBALS
from dashboard.__main__ import parse_args
from dashboard.security import host_is_loopback, is_loopback


def test_kctl_passes_the_context_on_and_refuses_server_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--server", "https://10.0.0.1:6443", "dashboard", "--no-open"]) == 1
    assert "--server and --token are not supported" in capsys.readouterr().err
    GLOBALS.server = None


@pytest.mark.parametrize("argv", [["--address", "localhost.evil"], ["--address", "0.0.0.0\n"], ["--port", "70000"],
                                  ["--tls-cert-file", "/x"]])  # fmt: skip
def test_bad_options_stop_it_before_it_listens(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2


def test_defaults_are_loopback_read_only() -> None:
    args = parse_args([])
    assert (args.address, args.port, args.allow_writes) == ("127.0.0.1", 8686, False)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1:8686", True), ("[::1]:8686", True), ("localhost:1", True), ("127.0.0.1", True),
     ("evil.example:8686", False), ("10.0.0.1:8686", False), ("127.0.0.1.evil.example", False), ("", False),
     ("[::1", False)],
)  # fmt: skip
def test_only_a_loopback_host_header_passes(host: str, loopback: bool) -> None:
    assert host_is_loopback(host) is loopback
    assert is_loopback("::1") and not is_loopback("0.0.0.0")
