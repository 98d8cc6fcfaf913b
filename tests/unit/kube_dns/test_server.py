"""The DNS listeners over real sockets on loopback: cluster answers, forwarding to an upstream this test starts on
loopback, bad input, truncation and the metrics."""

from __future__ import annotations

import asyncio
import socket
import struct

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from kube_dns.forward import Forwarder, Upstream, upstreams_from_resolv_conf
from kube_dns.metrics import DNSMetrics
from kube_dns.server import DNSServer, Resolver
from tests.unit.kube_dns.test_records import ep, eps, make_zone, svc


class Upstream53(asyncio.DatagramProtocol):
    """A loopback resolver that knows one name (and counts what it was asked)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        self.transport = transport

    def datagram_received(self, data, addr):  # type: ignore[no-untyped-def]
        query = dns.message.from_wire(data)
        self.asked.append(query.question[0].name.to_text())
        reply = dns.message.make_response(query)
        if query.question[0].name.to_text() == "outside.test.":
            reply.answer.append(dns.rrset.from_text("outside.test.", 60, "IN", "A", "192.0.2.7"))
        else:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(reply.to_wire(), addr)


@pytest.fixture
async def upstream():
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Upstream53, local_addr=("127.0.0.1", 0))
    yield proto, transport.get_extra_info("sockname")[1]
    transport.close()


@pytest.fixture
async def server(upstream):
    _proto, port = upstream
    zone = make_zone(
        [svc("api"), svc("big", ip="None")],
        [eps("big", endpoints=[ep(f"10.244.{i // 200}.{i % 200 + 1}") for i in range(100)])],
    )
    metrics = DNSMetrics()
    forwarder = Forwarder([Upstream("127.0.0.1", port)], metrics, timeout=1.0)
    srv = DNSServer(Resolver(zone, forwarder, metrics, "dns://127.0.0.1"), "127.0.0.1", 0)
    await srv.start()
    yield srv, metrics
    await srv.stop()


async def test_udp_and_tcp_answer_cluster_names(server):
    srv, metrics = server
    for send in (dns.asyncquery.udp, dns.asyncquery.tcp):
        reply = await send(
            dns.message.make_query("api.shop.svc.cluster.local.", "A"), "127.0.0.1", 2, srv.port
        )
        assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
        assert [str(rd) for rd in reply.answer[0]] == ["10.96.5.5"]
    reply = await dns.asyncquery.udp(
        dns.message.make_query("nope.shop.svc.cluster.local.", "A"), "127.0.0.1", 2, srv.port
    )
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.authority[0].rdtype == dns.rdatatype.SOA
    text = metrics.registry.get_sample_value
    labels = {
        "server": "dns://127.0.0.1",
        "zone": "cluster.local.",
        "proto": "udp",
        "family": "1",
        "type": "A",
    }
    assert text("coredns_dns_requests_total", labels) == 2
    assert text("coredns_dns_responses_total", {"server": "dns://127.0.0.1", "zone": "cluster.local.",
                                                "rcode": "NXDOMAIN"}) == 1  # fmt: skip
    assert text("coredns_dns_request_duration_seconds_count", {"server": "dns://127.0.0.1",
                                                               "zone": "cluster.local.", "type": "A"}) == 3  # fmt: skip


async def test_other_names_go_to_the_upstream(server, upstream):
    srv, metrics = server
    proto, port = upstream
    reply = await dns.asyncquery.udp(dns.message.make_query("outside.test.", "A"), "127.0.0.1", 2, srv.port)
    assert [str(rd) for rd in reply.answer[0]] == ["192.0.2.7"]
    assert proto.asked == ["outside.test."]
    assert (
        metrics.registry.get_sample_value("coredns_forward_requests_total", {"to": f"127.0.0.1:{port}"}) == 1
    )


async def test_no_upstream_answer_is_servfail():
    zone = make_zone()
    metrics = DNSMetrics()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hole:  # bound, never read: queries go unanswered
        hole.bind(("127.0.0.1", 0))
        forwarder = Forwarder([Upstream("127.0.0.1", hole.getsockname()[1])], metrics, timeout=0.3)
        srv = DNSServer(Resolver(zone, forwarder, metrics, "x"), "127.0.0.1", 0)
        await srv.start()
        try:
            reply = await dns.asyncquery.udp(
                dns.message.make_query("outside.test.", "A"), "127.0.0.1", 3, srv.port
            )
        finally:
            await srv.stop()
    assert reply.rcode() == dns.rcode.SERVFAIL


async def test_large_udp_answers_are_truncated_and_tcp_carries_them_whole(server):
    srv, _ = server
    query = dns.message.make_query("big.shop.svc.cluster.local.", "A")
    udp = await dns.asyncquery.udp(query, "127.0.0.1", 2, srv.port)
    assert udp.flags & dns.flags.TC
    tcp = await dns.asyncquery.tcp(query, "127.0.0.1", 2, srv.port)
    assert not tcp.flags & dns.flags.TC and len(tcp.answer[0]) == 100
    edns = await dns.asyncquery.udp(dns.message.make_query("big.shop.svc.cluster.local.", "A", use_edns=0,
                                                           payload=4096), "127.0.0.1", 2, srv.port)  # fmt: skip
    assert len(edns.to_wire()) <= 1232


async def test_garbage_gets_formerr_or_nothing(server):
    srv, metrics = server
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        await loop.sock_connect(s, ("127.0.0.1", srv.port))
        await loop.sock_sendall(s, struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\xff\xff")
        data = await asyncio.wait_for(loop.sock_recv(s, 512), 2)
    msg_id, flags = struct.unpack("!HH", data[:4])
    assert msg_id == 0x1234 and flags & 0x8000 and flags & 0xF == dns.rcode.FORMERR
    assert metrics.registry.get_sample_value("kubedns_malformed_requests_total") == 1


def test_upstreams_come_from_resolv_conf_without_our_own_addresses(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# comment\nnameserver 127.0.0.53\nnameserver 10.96.0.10\nnameserver bogus\nsearch example\n"
    )
    assert upstreams_from_resolv_conf(str(conf), exclude=["10.96.0.10"]) == [Upstream("127.0.0.53")]
    assert upstreams_from_resolv_conf(str(tmp_path / "missing")) == []


def test_kept_answers_carry_the_new_id_and_go_when_the_caches_change():
    zone = make_zone([svc("api")])
    metrics = DNSMetrics()
    resolver = Resolver(zone, Forwarder([], metrics), metrics, "x")
    name = "api.shop.svc.cluster.local."

    def ask(msg_id: int) -> dns.message.Message:
        query = dns.message.make_query(name, "A")
        query.id = msg_id
        wire = resolver.handle(query.to_wire(), tcp=False, family=socket.AF_INET)
        assert isinstance(wire, bytes)
        return dns.message.from_wire(wire)

    first, second = ask(1), ask(2)
    assert (first.id, second.id) == (1, 2) and first.answer == second.answer
    assert (
        metrics.registry.get_sample_value(
            "coredns_dns_requests_total",
            {"server": "x", "zone": "cluster.local.", "proto": "udp", "family": "1", "type": "A"},
        )
        == 2
    )
    # The Service moves (its informer updates the store and touches the zone): the next answer is the new one.
    moved = svc("api", ip="10.96.7.7")
    zone.services._put("shop/api", moved)
    zone.touch()
    assert [str(rd) for rd in ask(3).answer[0]] == ["10.96.7.7"]
