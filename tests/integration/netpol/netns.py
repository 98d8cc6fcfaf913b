"""What the integration netpol tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.factories import Obj
from tests.harness import ApiServer, forbidden_lines
from tests.integration.netpol.helpers import NetpolProc, agent_args

SERVER = """
import socket, sys, threading
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(b"ok"); c.close()
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port))
    while True:
        _, peer = s.recvfrom(100); s.sendto(b"ok", peer)
for port in (7000, 8080, 9090):
    threading.Thread(target=tcp, args=(port,), daemon=True).start()
threading.Thread(target=udp, args=(5353,), daemon=True).start()
print("serving", flush=True)
threading.Event().wait()
"""


CLIENT = """
import socket, sys
ip, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    if proto == "tcp":
        c = socket.create_connection((ip, port), timeout=1)
        print("open" if c.recv(10) == b"ok" else "bad")
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1); s.connect((ip, port)); s.send(b"x")
        print("open" if s.recv(10) == b"ok" else "bad")
except ConnectionRefusedError:
    print("refused")
except (TimeoutError, socket.timeout):
    print("timeout")
"""


def _sh(*args: str) -> str:
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


@dataclass
class NetnsNode:
    api: httpx.Client
    apiserver: ApiServer
    tmp: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    third: int = field(default_factory=lambda: random.randrange(1, 250))
    pods: dict[str, str] = field(default_factory=dict)  # pod name -> its netns
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    agent: NetpolProc | None = None

    @property
    def netns(self) -> str:
        return f"klnp-node-{self.suffix}"

    @property
    def node_name(self) -> str:
        return f"nsnode-{self.suffix}"

    @property
    def calls_log(self) -> Path:
        return self.tmp / "calls.log"

    def calls(self) -> list[str]:
        """Every iptables and ipset command the agent ran so far, in order ("tool args...")."""
        return self.calls_log.read_text().splitlines() if self.calls_log.exists() else []

    def ip(self, host: int) -> str:
        return f"10.77.{self.third}.{host}"

    def setup(self) -> None:
        _sh("ip", "netns", "add", self.netns)
        node = ["ip", "netns", "exec", self.netns]
        _sh(*node, "ip", "link", "set", "lo", "up")
        _sh(*node, "ip", "link", "add", "br0", "type", "bridge")
        _sh(*node, "ip", "addr", "add", f"{self.ip(1)}/24", "dev", "br0")
        _sh(*node, "ip", "link", "set", "br0", "up")
        nf = subprocess.run(
            [*node, "sysctl", "-w", "net.bridge.bridge-nf-call-iptables=1"], capture_output=True
        )
        if nf.returncode != 0:
            pytest.skip("no per-namespace bridge-nf-call-iptables here (br_netfilter)")
        wrappers = self.tmp / "bin"
        wrappers.mkdir()
        for tool in ("iptables", "iptables-save", "iptables-restore", "ipset"):
            real = shutil.which(tool)
            assert real is not None
            script = wrappers / tool
            # Each call is logged (tool and arguments) so tests can tell restores from rule-by-rule commands.
            script.write_text(
                f'#!/bin/sh\necho "{tool} $*" >> {self.calls_log}\nexec ip netns exec {self.netns} {real} "$@"\n'
            )
            script.chmod(0o755)

    def add_pod(self, name: str, host: int, labels: dict[str, str], ns: str, *, serve: bool = True) -> str:
        """A pod namespace on the bridge with address .host, its API object Running with that podIP, and (with
        `serve`) TCP 7000, 8080, 9090 and UDP 5353 answering "ok"."""
        netns = f"klnp-{self.suffix}-{host}"
        ip = self.ip(host)
        _sh("ip", "netns", "add", netns)
        self.pods[name] = netns
        node = ["ip", "netns", "exec", self.netns]
        _sh(*node, "ip", "link", "add", f"vh{host}", "type", "veth", "peer", "name", "eth0", "netns", netns)
        _sh(*node, "ip", "link", "set", f"vh{host}", "master", "br0", "up")
        pod = ["ip", "netns", "exec", netns]
        _sh(*pod, "ip", "link", "set", "lo", "up")
        _sh(*pod, "ip", "addr", "add", f"{ip}/24", "dev", "eth0")
        _sh(*pod, "ip", "link", "set", "eth0", "up")
        if serve:
            proc = subprocess.Popen([*pod, sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
            self.procs.append(proc)
            assert proc.stdout is not None and proc.stdout.readline().strip() == "serving"
        body = {
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "nodeName": self.node_name,
                "containers": [
                    {"name": "c", "image": "none", "ports": [{"name": "web", "containerPort": 8080}]}
                ],
            },
        }
        r = self.api.post(f"/api/v1/namespaces/{ns}/pods", json=body)
        assert r.status_code == 201, r.text
        status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}
        r = self.api.patch(
            f"/api/v1/namespaces/{ns}/pods/{name}/status",
            json=status,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
        return ip

    def reach(self, client: str, ip: str, port: int, proto: str = "tcp") -> str:
        """From `client`'s namespace: "open", "refused" or "timeout"."""
        out = subprocess.run(
            ["ip", "netns", "exec", self.pods[client], sys.executable, "-c", CLIENT, ip, str(port), proto],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or out.stderr.strip()[-200:]

    def start_agent(self, *extra: str) -> NetpolProc:
        wrappers = self.tmp / "bin"
        agent = NetpolProc(
            agent_args(self.apiserver, self.node_name),
            [self.node_name],
            extra=list(extra),
            lock_file=str(self.tmp / "netpol.lock"),
            path_prefix=str(wrappers),
        )
        agent.start()
        self.agent = agent
        return agent

    def teardown(self) -> list[str]:
        """Remove everything; return the lines of the agent's log that record a 403 (there should be none)."""
        refused: list[str] = []
        if self.agent is not None:
            self.agent.stop()
            refused = forbidden_lines(self.agent.logs())
            self.agent.discard_log()
        for proc in self.procs:
            proc.kill()
            proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()
        for netns in [*self.pods.values(), self.netns]:
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)
        return refused


def namespace(node: NetnsNode, **labels: str) -> str:
    """A new namespace with `labels` (its name unique to the test)."""
    name = f"np-{uuid.uuid4().hex[:8]}"
    r = node.api.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels}})
    assert r.status_code == 201, r.text
    return name


def two_servers_and_a_client(node: NetnsNode, client: str) -> tuple[str, str, str]:
    """A new namespace with the serving pods "server" (app=server) and "other" (app=other), the pod `client`
    (role=client, not serving), and the agent running: (namespace, server's address, other's address)."""
    ns = namespace(node)
    server = node.add_pod("server", 20, {"app": "server"}, ns)
    other = node.add_pod("other", 21, {"app": "other"}, ns)
    node.add_pod(client, 10, {"role": "client"}, ns, serve=False)
    node.start_agent()
    return ns, server, other


def create(node: NetnsNode, ns: str, name: str, spec: Obj) -> None:
    r = node.api.post(
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
        json={"metadata": {"name": name}, "spec": spec},
    )
    assert r.status_code == 201, r.text


def delete(node: NetnsNode, ns: str, name: str) -> None:
    r = node.api.delete(f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/{name}")
    assert r.status_code == 200, r.text


def label(node: NetnsNode, path: str, **labels: str | None) -> None:
    """Merge `labels` into the labels of the object at `path` (None removes one)."""
    r = node.api.patch(
        path,
        json={"metadata": {"labels": labels}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
