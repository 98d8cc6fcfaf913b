"""The DNS listeners: UDP and TCP on one address and port, and the query handling they share.

`Resolver.handle(wire)` turns a request into the bytes of its answer: names of the cluster zone are answered at
once from the caches (`records.Zone`), the rest are forwarded (`forward.Forwarder`) in a task of their own, so a
slow upstream never holds up cluster answers. Bad input never raises: a message that is not a query gets FORMERR
(or nothing when not even the header can be read), an opcode other than QUERY gets NOTIMP.

Answers of the cluster zone are kept, as bytes, by the query's own bytes (all but its id) until the caches next
change: the same question asked again costs a dictionary lookup (names are asked over and over: every pod's
resolver walks the same search path). Any change to a Service, EndpointSlice or Pod drops them all, so an answer
is never older than the caches. Forwarded answers are not kept.

UDP answers fit the client's buffer (512 bytes, or its EDNS size up to 1232): a longer one is truncated with the TC
flag, and the client asks again over TCP. TCP connections carry any number of queries, each with its two-byte
length, and close after 10 s idle.

The listeners bind with IP_FREEBIND: the address may not exist yet when kube-dns starts (on a node, the pod
bridge's address appears with the first pod), and packets reach the sockets as soon as it does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from kube_dns.forward import Forwarder
from kube_dns.metrics import DNSMetrics
from kube_dns.records import Zone

log = logging.getLogger("kube_dns.server")

UDP_DEFAULT_SIZE = 512
UDP_MAX_SIZE = 1232  # the DNS flag day 2020 recommendation, as CoreDNS
TCP_IDLE_TIMEOUT = 10.0
ANSWER_CACHE_SIZE = 10_000
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
Reply = bytes | None | Coroutine[Any, Any, bytes | None]


def _formerr(wire: bytes) -> bytes | None:
    """FORMERR for a message whose header at least could be read; None (silence) otherwise."""
    if len(wire) < 12:
        return None
    (msg_id, flags) = struct.unpack("!HH", wire[:4])
    if flags & dns.flags.QR:
        return None  # a response: never answer one (reflection loops)
    opcode = (flags >> 11) & 0xF
    out_flags = dns.flags.QR | (opcode << 11) | (flags & dns.flags.RD) | dns.rcode.FORMERR
    return struct.pack("!HHHHHH", msg_id, out_flags, 0, 0, 0, 0)


@dataclass(eq=False)
class Resolver:
    zone: Zone
    forwarder: Forwarder
    metrics: DNSMetrics
    server: str
    # query bytes -> wire and metric labels
    _answers: dict[bytes, tuple[bytes, str, str, str, str]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.zone_label = self.zone.origin.to_text()
        self._generation = self.zone.generation

    def handle(self, wire: bytes, *, tcp: bool, family: int) -> Reply:
        """The answer's bytes, None for no answer, or a coroutine that produces them (a forwarded query)."""
        start = time.monotonic()
        if self._generation != self.zone.generation:
            self._answers.clear()
            self._generation = self.zone.generation
        key = (b"t" if tcp else b"u") + wire[2:]
        known = self._answers.get(key)
        if known is not None and len(wire) >= 12:
            self._count(self.zone_label, *known[1:], start)
            return wire[:2] + known[0][2:]
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            self.metrics.malformed.inc()
            return _formerr(wire)
        if query.flags & dns.flags.QR:
            self.metrics.malformed.inc()
            return None
        proto = "tcp" if tcp else "udp"
        qtype_text = dns.rdatatype.to_text(query.question[0].rdtype) if len(query.question) == 1 else "other"
        fam = "1" if family == socket.AF_INET else "2"
        if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
            rcode = dns.rcode.NOTIMP if query.opcode() != dns.opcode.QUERY else dns.rcode.FORMERR
            reply = dns.message.make_response(query, recursion_available=True)
            reply.set_rcode(rcode)
            return self._finish(query, reply, tcp, start, ".", proto, fam, qtype_text)
        question = query.question[0]
        answer = None
        if question.rdclass == dns.rdataclass.IN:
            answer = self.zone.lookup(question.name, question.rdtype)
        if answer is None:
            return self._forward(query, tcp, start, proto, fam, qtype_text)
        reply = dns.message.make_response(query, recursion_available=True)
        reply.flags |= dns.flags.AA
        reply.set_rcode(answer.rcode)
        reply.answer = answer.answer
        reply.authority = answer.authority
        reply.additional = answer.additional
        out = self._finish(query, reply, tcp, start, self.zone_label, proto, fam, qtype_text)
        if len(self._answers) >= ANSWER_CACHE_SIZE:
            self._answers.clear()
        self._answers[key] = (out, proto, fam, qtype_text, dns.rcode.to_text(reply.rcode()))
        return out

    async def _forward(
        self, query: dns.message.Message, tcp: bool, start: float, proto: str, fam: str, qtype: str
    ) -> bytes | None:
        reply = await self.forwarder.forward(query, tcp=tcp)
        return self._finish(query, reply, tcp, start, ".", proto, fam, qtype)

    def _finish(
        self,
        query: dns.message.Message,
        reply: dns.message.Message,
        tcp: bool,
        start: float,
        zone: str,
        proto: str,
        fam: str,
        qtype: str,
    ) -> bytes:
        if tcp:
            limit = 65535
        else:
            limit = (
                UDP_DEFAULT_SIZE
                if query.edns < 0
                else max(UDP_DEFAULT_SIZE, min(query.payload, UDP_MAX_SIZE))
            )
        if reply.edns >= 0:
            reply.use_edns(0, payload=UDP_MAX_SIZE)
        wire = reply.to_wire(max_size=limit, prefer_truncation=True)
        self._count(zone, proto, fam, qtype, dns.rcode.to_text(reply.rcode()), start)
        return wire

    def _count(self, zone: str, proto: str, fam: str, qtype: str, rcode: str, start: float) -> None:
        m = self.metrics
        m.requests.labels(self.server, zone, proto, fam, qtype).inc()
        m.responses.labels(self.server, zone, rcode).inc()
        m.duration.labels(self.server, zone, qtype).observe(time.monotonic() - start)


# -- UDP -------------------------------------------------------------------------------------------------------


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver, family: int) -> None:
        self.resolver = resolver
        self.family = family
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport, not its ABC

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        reply = self.resolver.handle(data, tcp=False, family=self.family)
        if isinstance(reply, bytes):
            self._send(reply, addr)
        elif reply is not None:
            task = asyncio.ensure_future(self._later(reply, addr))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _later(self, reply: Coroutine[Any, Any, bytes | None], addr: tuple[Any, ...]) -> None:
        try:
            wire = await reply
        except Exception:
            log.exception("forwarding failed")  # the client times out and asks again
            return
        if wire is not None:
            self._send(wire, addr)

    def _send(self, wire: bytes, addr: tuple[Any, ...]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors from earlier replies (a client that went away): nothing to do for a stateless server.
        log.debug("udp error", extra={"error": str(exc)})


# -- TCP -------------------------------------------------------------------------------------------------------


async def _serve_tcp_client(
    resolver: Resolver, family: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            async with asyncio.timeout(TCP_IDLE_TIMEOUT):
                head = await reader.readexactly(2)
                (length,) = struct.unpack("!H", head)
                wire = await reader.readexactly(length)
            reply = resolver.handle(wire, tcp=True, family=family)
            if reply is not None and not isinstance(reply, bytes):
                reply = await reply
            if reply is None:
                break
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        pass  # idle, or the client hung up: the connection simply ends
    finally:
        writer.close()


# -- both ------------------------------------------------------------------------------------------------------


def bind_socket(host: str, port: int, kind: int) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        level = socket.IPPROTO_IPV6 if family == socket.AF_INET6 else socket.IPPROTO_IP
        sock.setsockopt(level, IP_FREEBIND, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class DNSServer:
    """UDP and TCP listeners on `host:port` (port 0: one free port, the same for both)."""

    def __init__(self, resolver: Resolver, host: str, port: int) -> None:
        self.resolver = resolver
        self.host = host
        self.port = port
        self._udp: asyncio.DatagramTransport | None = None
        self._protocol: _UDPProtocol | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        udp_sock, tcp_sock = self._bind_pair()
        family = udp_sock.family
        self._protocol = _UDPProtocol(self.resolver, family)
        try:
            protocol = self._protocol
            transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=udp_sock)
            self._udp = transport

            async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await _serve_tcp_client(self.resolver, family, reader, writer)

            self._tcp = await asyncio.start_server(client, sock=tcp_sock)
        except BaseException:
            udp_sock.close()
            tcp_sock.close()
            raise
        log.info("serving DNS", extra={"address": self.host, "port": self.port, "protocols": "udp,tcp"})

    def _bind_pair(self) -> tuple[socket.socket, socket.socket]:
        """A UDP and a TCP socket on one port. With port 0 the kernel picks the UDP one, which may be taken for TCP
        by somebody else: then another is picked (a few times)."""
        for attempt in range(20):
            udp_sock = bind_socket(self.host, self.port, socket.SOCK_DGRAM)
            port = udp_sock.getsockname()[1]
            try:
                tcp_sock = bind_socket(self.host, port, socket.SOCK_STREAM)
            except OSError:
                udp_sock.close()
                if self.port != 0 or attempt == 19:
                    raise
                continue
            self.port = port
            return udp_sock, tcp_sock
        raise AssertionError("unreachable")  # pragma: no cover

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._protocol is not None:
            for task in list(self._protocol.tasks):
                task.cancel()
            await asyncio.gather(*self._protocol.tasks, return_exceptions=True)
        if self._tcp is not None:
            self._tcp.close()
