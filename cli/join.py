"""`kctl join https://IP:PORT --token T --discovery-token-ca-cert-hash sha256:H`: make this machine a node of a
cluster that `kctl up --advertise-address IP` started elsewhere.

1. discovery (cli/discovery.py): find the cluster and trust its CA only once the token's signature and the CA pin
   agree;
2. TLS bootstrap (apimachinery/tlsbootstrap.py): a new key and a CSR for system:node:<name>, sent with the
   bootstrap token and approved by the controller-manager; then, as the node, its kubelet serving certificate;
3. the state directory as `kctl up` keeps it (pki/, kubeconfigs/ 0600, cluster.json), and the supervisor running
   the kubelet and kube-proxy; `kctl status` and `kctl down` work here as on the first machine.

The apiserver is reached at the address given on the command line (cluster-info's own address may be one only
the first machine can use, e.g. 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import typer

from apimachinery import bootstraptoken as bt
from apimachinery.client import Client
from apimachinery.dnsconfig import CLUSTER_DOMAIN, cluster_dns_ip
from apimachinery.kubeconfig import ClientConfig, write_kubeconfig
from apimachinery.kubeconfig import load as load_kubeconfig
from apimachinery.localimages import ensure_images
from apimachinery.pki import private_dir, write_private, write_public
from apimachinery.tlsbootstrap import BootstrapError, request_client_certificate, request_serving_certificate
from cli import up as upmod
from cli.discovery import Cluster, DiscoveryError, discover
from cli.errors import CLIError
from cli.session import GLOBALS
from cli.up_components import SERVICE_CIDR
from cli.up_preflight import Preflight
from cli.up_state import is_healthy, supervisor_pid, tell

app = typer.Typer()

BOOTSTRAP_TIMEOUT = 60.0


def source_address_for(server: str) -> str:
    """This machine's address on the route to the apiserver (a UDP connect selects the route; nothing is sent)."""
    host = urlsplit(server).hostname or ""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((host, 9))
        except OSError as exc:
            raise CLIError(f"no route to {host}: {exc}") from exc
        return str(s.getsockname()[0])


async def bootstrap(
    cluster: Cluster, token: bt.Token, node: str, node_ip: str
) -> tuple[bytes, bytes, bytes, bytes]:
    """(client cert, client key, serving cert, serving key) of the node, by CSRs the cluster approves."""
    ca = cluster.ca_pem.decode()
    async with Client(
        ClientConfig(server=cluster.server, ca_data=ca, token=str(token)), user_agent="kctl-join"
    ) as c:
        cert, key = await request_client_certificate(c, node, timeout=BOOTSTRAP_TIMEOUT)
    as_node = ClientConfig(server=cluster.server, ca_data=ca, cert_data=cert.decode(), key_data=key.decode())
    async with Client(as_node, user_agent="kctl-join") as c:
        serving, serving_key = await request_serving_certificate(
            c, node, (node_ip, "127.0.0.1"), timeout=BOOTSTRAP_TIMEOUT
        )
    return cert, key, serving, serving_key


def write_node_credentials(
    state: Path, cluster: Cluster, node: str, creds: tuple[bytes, bytes, bytes, bytes]
) -> None:
    cert, key, serving, serving_key = creds
    pki = private_dir(state / "pki")
    write_public(pki / "ca.crt", cluster.ca_pem)
    write_public(pki / "kubelet.crt", serving)
    write_private(pki / "kubelet.key", serving_key)
    private_dir(state / "kubeconfigs")
    for name in (
        "kubelet",
        "kube-proxy",
    ):  # kube-proxy acts as the node (RBAC: system:node-proxier for nodes)
        write_kubeconfig(state / "kubeconfigs" / f"{name}.conf", "kubelite", cluster.server, ca_data=cluster.ca_pem,
                         context="kubelite", user=f"system:node:{node}", client_cert_data=cert, client_key_data=key)  # fmt: skip


def node_components(
    state: Path, node: str, node_ip: str, ports: dict[str, int], pre: Preflight
) -> list[dict[str, Any]]:
    """The supervisor's list on a joined machine: kube-proxy, then the kubelet (its podCIDR comes from the
    cluster's node IPAM)."""
    py = sys.executable
    conf = state / "kubeconfigs"
    pki = state / "pki"
    return [
        {
            "name": "kube-proxy",
            "health": f"http://127.0.0.1:{ports['kube-proxy']}/healthz",
            "argv": [py, "-m", "kube_proxy", "--kubeconfig", str(conf / "kube-proxy.conf"), "--node-name", node,
                     "--proxy-mode", pre.proxy_mode, "--cluster-cidr", upmod.CLUSTER_CIDR,
                     "--service-cluster-ip-range", SERVICE_CIDR, "--port", str(ports["kube-proxy"])],
        },
        {
            "name": "kubelet",
            "health": f"https://127.0.0.1:{ports['kubelet']}/healthz",
            "argv": [py, "-m", "kubelet", "--kubeconfig", str(conf / "kubelet.conf"), "--node-name", node,
                     "--node-ip", node_ip, "--port", str(ports["kubelet"]), "--cluster-cidr", upmod.CLUSTER_CIDR,
                     "--root-dir", str(state / "kubelet"), "--cni-conf-dir", str(state / "cni"),
                     "--network", pre.network, "--cluster-dns", cluster_dns_ip(SERVICE_CIDR),
                     "--cluster-domain", CLUSTER_DOMAIN,
                     "--tls-cert-file", str(pki / "kubelet.crt"), "--tls-private-key-file", str(pki / "kubelet.key"),
                     "--client-ca-file", str(pki / "ca.crt")],
        },
    ]  # fmt: skip


def _node(server: str, node: str, state: Path) -> dict[str, Any] | None:
    """The Node, read as the node itself (the Node authorizer lets it read its own)."""
    config = load_kubeconfig(state / "kubeconfigs" / "kubelet.conf")
    with httpx.Client(verify=config.ssl_context(), timeout=3) as c:
        r = c.get(f"{server}/api/v1/nodes/{node}")
    return r.json() if r.status_code == 200 else None


def _ready(node: dict[str, Any] | None) -> bool:
    conditions = ((node or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@app.command("join")
def join(
    server: str = typer.Argument(
        ..., help="the apiserver, https://IP:PORT (as `kctl up` or `kctl token create` printed it)"
    ),
    token: str = typer.Option(None, "--token", help="a bootstrap token, abcdef.0123456789abcdef"),
    ca_hash: str = typer.Option(
        ..., "--discovery-token-ca-cert-hash", help="sha256:<hex> of the cluster CA's public key"
    ),
    node_name: str = typer.Option(socket.gethostname(), "--node-name", help="this machine's node name"),
    node_ip: str = typer.Option(
        "", "--node-ip", help="this machine's address (default: the one on the route to the apiserver)"
    ),
    state_dir: Path = typer.Option(
        upmod.DEFAULT_STATE_DIR, "--state-dir", help="where credentials, logs and pids live"
    ),
    kubelet_port: int = typer.Option(upmod.DEFAULT_PORTS["kubelet"], "--kubelet-port"),
    proxy_port: int = typer.Option(upmod.DEFAULT_PORTS["kube-proxy"], "--proxy-port"),
    timeout: float = typer.Option(90, "--timeout", help="seconds to wait for the node to be Ready"),
) -> None:
    """Join this machine to a cluster as a node (kubelet and kube-proxy), with a bootstrap token."""
    state = state_dir.expanduser().resolve()
    if supervisor_pid(state):
        raise CLIError(f"this machine already runs kubelite from {state}; `kctl down` stops it")
    token = token or GLOBALS.token or ""  # kctl's global --token (a bearer token) takes the flag first
    if not token:
        raise CLIError(
            "kctl join needs --token (a bootstrap token: `kctl token create` on the first machine)"
        )
    try:
        parsed = bt.Token.parse(token)
        cluster = discover(server, parsed, ca_hash)
    except (bt.InvalidToken, DiscoveryError) as exc:
        raise CLIError(f"cannot join: {exc}") from None
    ip = node_ip or source_address_for(cluster.server)
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise CLIError(f"--node-ip {ip!r} is not an IPv4 address") from None
    ports = {"kube-proxy": proxy_port, "kubelet": kubelet_port}
    pre = upmod.preflight(ports)
    for note in pre.notes:
        tell(f"note: {note}")
    private_dir(state)
    tell(f"cluster {cluster.server} found; its CA matches {ca_hash}")
    try:
        creds = asyncio.run(bootstrap(cluster, parsed, node_name, ip))
    except BootstrapError as exc:
        raise CLIError(f"cannot join: {exc}") from None
    write_node_credentials(state, cluster, node_name, creds)
    tell(f"this node's certificate for system:node:{node_name} is issued (kubeconfigs/kubelet.conf)")
    ensure_images()
    comps = node_components(state, node_name, ip, ports, pre)
    spec = {"node": node_name, "joined": cluster.server, "pod_cidr": "", "ports": ports, "network": pre.network,
            "components": comps}  # fmt: skip
    (state / "cluster.json").write_text(json.dumps(spec, indent=2))
    with open(state / "supervisor.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "cli.supervisor", str(state)], stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(upmod.REPO))  # fmt: skip
    ca = state / "pki" / "ca.crt"
    for c in comps:
        upmod.wait_for(c["name"], functools.partial(is_healthy, c["health"], ca), 60, state, c["name"])
    upmod.wait_for(f"node {node_name} to be Ready", lambda: _ready(_node(cluster.server, node_name, state)), timeout,
                state, "kubelet")  # fmt: skip
    node = _node(cluster.server, node_name, state) or {}
    pod_cidr = (node.get("spec") or {}).get("podCIDR") or ""
    (state / "cluster.json").write_text(json.dumps({**spec, "pod_cidr": pod_cidr}, indent=2))
    print(
        f"node {node_name} joined {cluster.server}: Ready, pods {pod_cidr or '(no podCIDR yet)'}, address {ip}"
    )
    print(
        f"credentials: {state / 'kubeconfigs' / 'kubelet.conf'} (a certificate for system:node:{node_name})"
    )
    print("on the first machine: kctl get nodes; here: kctl status, kctl down")
