"""SPDY/3.1 framing for kubectl's port-forward (apimachinery.spdy)."""

from __future__ import annotations

import hashlib
import zlib

import pytest

from apimachinery import spdy


def test_dictionary_is_the_drafts() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == (
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"
    )


def test_frames_round_trip_across_arbitrary_splits() -> None:
    enc = spdy.Encoder()
    wire = (
        enc.syn_stream(1, {"streamType": "error", "port": "80", "requestID": "0"})
        + enc.syn_stream(3, {"streamtype": "data", "port": "80", "requestid": "0"})
        + enc.data(3, b"GET / HTTP/1.0\r\n\r\n")
        + enc.data(3, b"", fin=True)
        + enc.ping(7)
        + enc.rst(1, spdy.RST_CANCEL)
        + enc.goaway(3)
    )
    parser = spdy.Parser()
    frames: list[spdy.Frame] = []
    for i in range(0, len(wire), 7):  # byte-dribbled, as a TCP stream may deliver it
        frames += parser.feed(wire[i : i + 7])
    first, second, data, fin, ping, rst, goaway = frames
    assert isinstance(first, spdy.Control) and first.type == spdy.SYN_STREAM
    assert (first.stream_id, first.header("streamtype"), first.header("requestid")) == (1, "error", "0")
    assert isinstance(second, spdy.Control) and second.header("port") == "80" and second.stream_id == 3
    assert isinstance(data, spdy.Data) and data.data.startswith(b"GET /") and not data.fin
    assert isinstance(fin, spdy.Data) and fin.fin and fin.data == b""
    assert isinstance(ping, spdy.Control) and ping.ping_id == 7
    assert isinstance(rst, spdy.Control) and rst.status == spdy.RST_CANCEL
    assert isinstance(goaway, spdy.Control) and goaway.type == spdy.GOAWAY and goaway.stream_id == 3


def test_header_blocks_are_plain_zlib_with_the_dictionary() -> None:
    frame = spdy.Encoder().syn_reply(5, {"a": "b"})
    block = frame[12:]
    raw = zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(block)
    assert raw == b"\x00\x00\x00\x01\x00\x00\x00\x01a\x00\x00\x00\x01b"


def test_garbage_is_a_protocol_error() -> None:
    with pytest.raises(spdy.ProtocolError):
        spdy.Parser().feed(b"\x80\x02\x00\x01\x00\x00\x00\x0a" + b"\x00" * 10)  # SPDY/2
    bad_block = (
        b"\x80\x03\x00\x01\x00\x00\x00\x0e" + b"\x00\x00\x00\x01\x00\x00\x00\x00" + b"\x00\x00" + b"junk"
    )
    with pytest.raises(spdy.ProtocolError):
        spdy.Parser().feed(bad_block)
