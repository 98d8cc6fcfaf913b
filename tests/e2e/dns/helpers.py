"""Helpers for the tests in this folder, importable by its tests (the fixtures stay in conftest.py).

A small cluster on this machine with cluster DNS: private etcd and apiserver, controller-manager, scheduler, two
kubelets on Docker (told `--cluster-dns 10.96.0.10`), one kube-proxy, and kube-dns listening on node A's bridge
address (as `kctl up` runs it, as its own identity, the ServiceAccount kube-system/kube-dns), publishing the
kube-dns Service and its endpoints itself. That address exists once node A runs a pod: the tests' fixtures put one
there before anything asks.

kube-dns forwards names outside the cluster only to the resolvers of a resolv.conf this fixture writes, which names
one resolver: `LoopbackResolver`, started here on 127.0.0.153:53. Nothing a test asks can leave the machine.
"""

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
