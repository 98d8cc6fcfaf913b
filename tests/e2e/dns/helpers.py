"""What the e2e dns tests share besides their fixtures (those, and how they set things up, are in conftest.py)."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset

from apimachinery.dnsconfig import cluster_dns_ip
from tests.e2e.proxy.helpers import Cluster

DNS_IP = cluster_dns_ip("10.96.0.0/12")
UPSTREAM = "127.0.0.153"
OUTSIDE_NAME = "outside.test."
OUTSIDE_IP = "192.0.2.77"


class LoopbackResolver:
    """The only upstream kube-dns knows in these tests: answers OUTSIDE_NAME, NXDOMAIN for anything else, and
    remembers what it was asked."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((UPSTREAM, 53))
        self.sock.settimeout(0.2)
        self.asked: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            name = query.question[0].name.to_text()
            self.asked.append(name)
            reply = dns.message.make_response(query)
            if name == OUTSIDE_NAME and query.question[0].rdtype == dns.rdatatype.A:
                reply.answer.append(dns.rrset.from_text(OUTSIDE_NAME, 30, "IN", "A", OUTSIDE_IP))
            elif name != OUTSIDE_NAME:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(reply.to_wire(), addr)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


@dataclass
class DNSCluster:
    cluster: Cluster
    dns_address: str  # where kube-dns listens: node A's bridge address
    metrics_port: int
    upstream: LoopbackResolver
    log: Path


def _gateway(pod_cidr: str) -> str:
    return str(ipaddress.IPv4Network(pod_cidr)[1])


def docker_exec(pod: dict, script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")
    return subprocess.run(["docker", "exec", cid, "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
