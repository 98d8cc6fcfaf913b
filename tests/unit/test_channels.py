"""The channel framing of exec/attach/port-forward WebSockets (apimachinery.channels)."""

from __future__ import annotations

import json

import pytest

from apimachinery import channels


def test_binary_and_base64_framing_round_trip() -> None:
    binary = channels.Framing(channels.V5)
    assert binary.encode(1, b"hi") == b"\x01hi"
    assert binary.decode(b"\x00abc") == (0, b"abc")
    # A str message in a binary protocol carries the channel byte too (the Python client's write_stdin).
    assert binary.decode("\x00abc\n") == (0, b"abc\n")
    b64 = channels.Framing(channels.V4_BASE64)
    assert b64.encode(2, b"\xff") == "2/w=="
    assert b64.decode("2/w==") == (2, b"\xff")
    with pytest.raises(channels.FrameError):
        b64.decode("x!!")
    with pytest.raises(channels.FrameError):
        b64.decode("1***")
    with pytest.raises(channels.FrameError):
        binary.decode(b"")


def test_negotiation_prefers_the_newest_protocol_offered() -> None:
    assert channels.negotiate([channels.V4, channels.V5], channels.EXEC_PROTOCOLS) == channels.V5
    assert channels.negotiate(["v3.channel.k8s.io"], channels.EXEC_PROTOCOLS) is None
    assert channels.Framing(channels.V5).has_close and not channels.Framing(channels.V4).has_close
    assert not channels.Framing(channels.V1).has_exit_code


def test_exit_status_round_trips_through_the_python_clients_reading() -> None:
    failure = channels.exit_status(42)
    # What kubernetes.stream.ws_client reads: details.causes[0].message.
    assert int(failure["details"]["causes"][0]["message"]) == 42
    assert channels.exit_code_of(json.dumps(failure).encode())[0] == 42
    assert channels.exit_code_of(json.dumps(channels.exit_status(0)).encode()) == (0, "")
    code, message = channels.exit_code_of(json.dumps(channels.failure_status("no such container")).encode())
    assert code is None and message == "no such container"
    assert channels.exit_code_of(b"plain v1 text") == (None, "plain v1 text")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b'{"Width":80,"Height":24}', (80, 24)), (b'{"Width":0,"Height":24}', None), (b"nope", None),
     (b'{"Width":"x"}', None), (b'{"Width":99999,"Height":1}', None)],
)  # fmt: skip
def test_resize_messages(payload: bytes, expected: tuple[int, int] | None) -> None:
    assert channels.parse_resize(payload) == expected
