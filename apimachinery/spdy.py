"""SPDY/3.1 framing, sans I/O: what kubectl's port-forward speaks (moby/spdystream under client-go), raw or, since
kubectl 1.31, inside the binary messages of a WebSocket whose subprotocol is `SPDY/3.1+portforward.k8s.io`.

Only what that client needs: the frame layout of the SPDY/3 draft (control frames SYN_STREAM, SYN_REPLY,
RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE; data frames with FIN), and header blocks compressed
with one zlib stream per direction primed with the draft's dictionary. spdystream does no flow control (it
ignores WINDOW_UPDATE), so neither does this.

    Parser().feed(data) -> [frame, ...]      frames are the dataclasses below
    Encoder().syn_reply(...), .data(...), .ping(...), .rst(...), .goaway(...)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_REFUSED_STREAM, RST_CANCEL = 1, 3, 5
MAX_DATA = (1 << 24) - 1
MAX_FRAME = 1 << 24  # a frame's length field is 24 bits
MAX_HEADER_BLOCK = 256 * 1024  # decompressed; a client's headers here are a few dozen bytes


def _dictionary() -> bytes:
    """The SPDY/3 header dictionary: length-prefixed header names and values, then common value fragments."""
    words = (
        "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
        "age allow authorization cache-control connection content-base content-encoding content-language "
        "content-length content-location content-md5 content-range content-type date etag expect expires from "
        "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
        "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
        "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
    ).split()
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
        "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    return b"".join(len(w).to_bytes(4, "big") + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()  # 1423 bytes; sha256 51d27341...07f02 (checked in the unit test)


class ProtocolError(ValueError):
    """The peer sent something that is not SPDY/3.1; the session must end."""


@dataclass
class Data:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass
class Control:
    type: int
    flags: int
    stream_id: int = 0
    headers: dict[str, list[str]] = field(default_factory=dict)
    status: int = 0  # RST_STREAM and GOAWAY
    ping_id: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower()) or [""]
        return values[0]


Frame = Data | Control
_U32 = struct.Struct(">L")
_HEAD = struct.Struct(">LL")


class Parser:
    """Frames out of a byte stream fed in any pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, second = _HEAD.unpack_from(self._buffer)
            length = second & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            body = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = second >> 24
            if first & 0x80000000:
                if (first >> 16) & 0x7FFF != VERSION:
                    raise ProtocolError(f"unsupported SPDY version {(first >> 16) & 0x7FFF}")
                frames.append(self._control(first & 0xFFFF, flags, body))
            else:
                frames.append(Data(first & 0x7FFFFFFF, body, bool(flags & FLAG_FIN)))
        return frames

    def _control(self, kind: int, flags: int, body: bytes) -> Control:
        def word(at: int) -> int:
            if len(body) < at + 4:
                raise ProtocolError(f"control frame {kind} too short")
            return int(_U32.unpack_from(body, at)[0])

        if kind == SYN_STREAM:
            if len(body) < 10:
                raise ProtocolError("SYN_STREAM too short")
            return Control(kind, flags, word(0) & 0x7FFFFFFF, headers=self._headers(body[10:]))
        if kind in (SYN_REPLY, HEADERS):
            return Control(kind, flags, word(0) & 0x7FFFFFFF, headers=self._headers(body[4:]))
        if kind == RST_STREAM:
            return Control(kind, flags, word(0) & 0x7FFFFFFF, status=word(4))
        if kind == PING:
            return Control(kind, flags, ping_id=word(0))
        if kind == GOAWAY:
            return Control(kind, flags, word(0) & 0x7FFFFFFF, status=word(4) if len(body) >= 8 else 0)
        if kind == WINDOW_UPDATE:
            return Control(kind, flags, word(0) & 0x7FFFFFFF)
        return Control(kind, flags)  # SETTINGS and anything newer: nothing this side needs from them

    def _headers(self, block: bytes) -> dict[str, list[str]]:
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise ProtocolError(f"bad header block: {exc}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError("header block too large")
        headers: dict[str, list[str]] = {}
        try:
            (count,) = _U32.unpack_from(raw, 0)
            at = 4
            for _ in range(count):
                (size,) = _U32.unpack_from(raw, at)
                name = raw[at + 4 : at + 4 + size].decode("latin-1").lower()
                at += 4 + size
                (size,) = _U32.unpack_from(raw, at)
                value = raw[at + 4 : at + 4 + size].decode("latin-1")
                at += 4 + size
                headers.setdefault(name, []).extend(value.split("\x00"))
        except struct.error:
            raise ProtocolError("truncated header block") from None
        return headers


class Encoder:
    """Frames to send; header blocks share one compression stream, as the peer's decompressor expects."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zdict=DICTIONARY)

    def _control(self, kind: int, flags: int, body: bytes) -> bytes:
        return _HEAD.pack(0x80000000 | (VERSION << 16) | kind, (flags << 24) | len(body)) + body

    def _block(self, headers: dict[str, str]) -> bytes:
        raw = _U32.pack(len(headers))
        for name, value in headers.items():
            raw += _U32.pack(len(name)) + name.lower().encode() + _U32.pack(len(value)) + value.encode()
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def syn_stream(self, stream_id: int, headers: dict[str, str], *, fin: bool = False) -> bytes:
        body = _U32.pack(stream_id) + _U32.pack(0) + b"\x00\x00" + self._block(headers)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, body)

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None, *, fin: bool = False) -> bytes:
        body = _U32.pack(stream_id) + self._block(headers or {})
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0, body)

    def rst(self, stream_id: int, status: int) -> bytes:
        return self._control(RST_STREAM, 0, _U32.pack(stream_id) + _U32.pack(status))

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, _U32.pack(ping_id))

    def goaway(self, last_stream_id: int, status: int = 0) -> bytes:
        return self._control(GOAWAY, 0, _U32.pack(last_stream_id) + _U32.pack(status))

    @staticmethod
    def data(stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
        if len(data) > MAX_DATA:
            raise ValueError("a data frame holds at most 16 MiB - 1")
        return _HEAD.pack(stream_id & 0x7FFFFFFF, ((FLAG_FIN if fin else 0) << 24) | len(data)) + data
