"""The component list of `kctl up`: the cluster's fixed addresses and ports, each component's command line and the
process that hosts it (what the supervisor, cli/supervisor.py, starts, in start order)."""

from __future__ import annotations

import functools
import ipaddress
import sys
from pathlib import Path
from typing import Any

from apimachinery.dnsconfig import CLUSTER_DOMAIN, cluster_dns_ip
from apimachinery.netutil import default_route_source
from cli.credentials import ClusterCredentials
from cli.errors import CLIError
from cli.up_preflight import Preflight

CLUSTER_CIDR = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/12"
LOADBALANCER_CIDR = "10.250.0.0/24"
REPO = Path(__file__).resolve().parent.parent

# The components' usual ports (kube-apiserver's is --port); each can be moved with a flag of `kctl up`.
DEFAULT_PORTS = {
    "kube-apiserver": 6443,
    "kube-controller-manager": 10257,
    "kube-scheduler": 10259,
    "kube-proxy": 10249,
    "kube-dns": 9153,  # its /healthz, /readyz and /metrics; DNS itself is on the pod bridge's address, port 53
    "kubelet": 10250,
    "kube-netpol": 10265,
    "metrics-server": 10271,  # its /healthz, /readyz and /metrics; metrics.k8s.io is HTTPS on METRICS_SERVER_PORT
}
METRICS_SERVER_PORT = 4443

# The processes: as k3s, `kctl up` runs several components in one process (componenthost/; each keeps its own
# identity, connections, ports and logs, only the Python interpreter is shared: bench/idle_memory.py). The apiserver
# runs alone, the one that needs the CPU; the controllers share one process, the node's agents another.
HOSTS = {
    "kube-controller-manager": "control-plane",
    "kube-scheduler": "control-plane",
    "kube-proxy": "node",
    "kube-dns": "node",
    "kubelet": "node",
    "metrics-server": "node",
    "kube-netpol": "node",
}

# User namespaces get the baseline Pod Security Standard (no privileged, hostPath, host namespaces or host ports);
# kube-system, where node-level add-ons live, is exempt. A namespace can choose otherwise with its labels.
POD_SECURITY = ["--pod-security-default", "baseline", "--pod-security-exempt-namespaces", "kube-system"]


def _health(ports: dict[str, int], name: str, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{ports[name]}/healthz"


def _kubeconfig(creds: ClusterCredentials, name: str) -> list[str]:
    return ["--kubeconfig", str(creds.kubeconfig(name))]


def _control_plane(
    state: Path,
    ports: dict[str, int],
    etcd_servers: str | None,
    creds: ClusterCredentials,
    advertise: str | None,
) -> list[dict[str, Any]]:
    """The apiserver (on etcd when given, else on SQLite in the state directory), controller-manager, scheduler."""
    py = sys.executable
    api_port = str(ports["kube-apiserver"])
    storage = (
        ["--etcd-servers", etcd_servers]
        if etcd_servers
        else ["--storage-backend", "sqlite", "--data-dir", str(state / "data")]
    )
    pki = creds.pki
    health = functools.partial(_health, ports)
    kubeconfig = functools.partial(_kubeconfig, creds)
    return [
        {
            "name": "kube-apiserver",
            "health": f"https://127.0.0.1:{api_port}/readyz",
            "liveness": f"https://127.0.0.1:{api_port}/livez",
            "backoff": {"initial": 0.1, "cap": 2.0},  # everything waits on it: restarted quickly, always
            # Every address: pods reach it through the `kubernetes` Service (10.96.0.1:443 -> node address).
            "argv": [py, "-m", "apiserver", "--bind-address", "0.0.0.0", "--port", api_port,
                     "--service-cluster-ip-range", SERVICE_CIDR, *storage,
                     "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
                     "--client-ca-file", str(creds.ca),
                     "--service-account-signing-key-file", str(creds.sa_key),
                     "--service-account-key-file", str(creds.sa_key),
                     "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
                     "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"),
                     "--kubelet-certificate-authority", str(creds.ca),
                     "--cluster-cidr", CLUSTER_CIDR, *POD_SECURITY, "--default-local-path-storage-class",
                     "--proxy-client-cert-file", str(pki / "front-proxy-client.crt"),
                     "--proxy-client-key-file", str(pki / "front-proxy-client.key"),
                     "--register-metrics-apiservice", str(creds.ca),
                     *(["--advertise-address", advertise] if advertise else [])],
        },
        {
            "name": "kube-controller-manager",
            "health": health("kube-controller-manager"),
            "argv": [py, "-m", "controller_manager", *kubeconfig("kube-controller-manager"),
                     "--cluster-cidr", CLUSTER_CIDR, "--root-ca-file", str(creds.ca),
                     "--cluster-signing-cert-file", str(creds.ca), "--cluster-signing-key-file", str(pki / "ca.key"),
                     "--port", str(ports["kube-controller-manager"])],
        },
        {
            "name": "kube-scheduler",
            "health": health("kube-scheduler"),
            "argv": [py, "-m", "scheduler", *kubeconfig("kube-scheduler"), "--port", str(ports["kube-scheduler"])],
        },
    ]  # fmt: skip


def _node_components(
    state: Path,
    ports: dict[str, int],
    node: str,
    pod_cidr: str,
    pre: Preflight,
    creds: ClusterCredentials,
    advertise: str | None,
) -> list[dict[str, Any]]:
    """kube-proxy, kube-dns, the kubelet, metrics-server and, where it can run, the network policy agent."""
    py = sys.executable
    pki = creds.pki
    health = functools.partial(_health, ports)
    kubeconfig = functools.partial(_kubeconfig, creds)
    metrics_health = ports.get("metrics-server", DEFAULT_PORTS["metrics-server"])
    metrics_https = ports.get("metrics-server-https", METRICS_SERVER_PORT)
    return [
        {
            "name": "kube-proxy",
            "health": health("kube-proxy"),
            "argv": [py, "-m", "kube_proxy", *kubeconfig("kube-proxy"), "--node-name", node, "--proxy-mode",
                     pre.proxy_mode, "--cluster-cidr", CLUSTER_CIDR, "--service-cluster-ip-range",
                     SERVICE_CIDR, "--port", str(ports["kube-proxy"])],
        },
        {
            "name": "kube-dns",
            "health": f"http://127.0.0.1:{ports['kube-dns']}/readyz",
            "argv": [py, "-m", "kube_dns", *kubeconfig("kube-dns"), "--bind-address", dns_address(pod_cidr),
                     "--metrics-port", str(ports["kube-dns"]), "--service-cluster-ip-range", SERVICE_CIDR,
                     "--cluster-cidr", CLUSTER_CIDR],
        },
        {
            "name": "kubelet",
            "health": health("kubelet", "https"),
            "argv": [py, "-m", "kubelet", *kubeconfig("kubelet"), "--node-name", node, "--port",
                     str(ports["kubelet"]), "--pod-cidr", pod_cidr, "--cluster-cidr", CLUSTER_CIDR,
                     "--root-dir", str(state / "kubelet"), "--cni-conf-dir", str(state / "cni"),
                     "--network", pre.network, "--cluster-dns", pod_nameserver(pod_cidr, pre),
                     "--cluster-domain", CLUSTER_DOMAIN,
                     "--tls-cert-file", str(pki / "kubelet.crt"), "--tls-private-key-file", str(pki / "kubelet.key"),
                     "--client-ca-file", str(creds.ca), *(["--node-ip", advertise] if advertise else [])],
        },
        {
            "name": "metrics-server",
            "health": f"http://127.0.0.1:{metrics_health}/readyz",
            "argv": [py, "-m", "metrics_server", *kubeconfig("metrics-server"),
                     "--tls-cert-file", str(pki / "metrics-server.crt"),
                     "--tls-private-key-file", str(pki / "metrics-server.key"),
                     "--requestheader-client-ca-file", str(creds.front_proxy_ca),
                     "--secure-port", str(metrics_https), "--health-port", str(metrics_health),
                     "--advertise-address", default_route_source() or dns_address(pod_cidr)],
        },
        # After the kubelet, whose KUBELITE-FORWARD accept would otherwise land above the agent's jump (the agent
        # puts its jump back on top at every sync anyway).
        *([{
            "name": "kube-netpol",
            "health": health("kube-netpol"),
            "argv": [py, "-m", "netpol", *kubeconfig("kube-netpol"), "--node-name", node, "--port",
                     str(ports["kube-netpol"])],
        }] if pre.netpol else []),
    ]  # fmt: skip


def components(
    state: Path,
    ports: dict[str, int],
    node: str,
    pod_cidr: str,
    pre: Preflight,
    etcd_servers: str | None,
    creds: ClusterCredentials,
    advertise: str | None = None,
) -> list[dict[str, Any]]:
    """The supervisor's component list, in start order. kube-proxy starts before the kubelet so that its guard
    routes for service addresses exist before any pod does; the network policy agent runs where it can. Each
    component runs as its own identity (its kubeconfig in state/kubeconfigs); the apiserver and the kubelet serve
    HTTPS only. `host`: the process it shares (HOSTS)."""
    comps = _control_plane(state, ports, etcd_servers, creds, advertise)
    comps += _node_components(state, ports, node, pod_cidr, pre, creds, advertise)
    for c in comps:  # the supervisor restarts a process when a liveness URL of its fails (cli/supervisor.py)
        c.setdefault("liveness", c["health"].replace("/readyz", "/healthz"))
        if c["name"] in HOSTS:
            c["host"] = HOSTS[c["name"]]
    return comps


def audit_args(state: Path, policy: Path) -> list[str]:
    """The apiserver's audit flags: the policy as given (the apiserver refuses a bad one at start, and `kctl up`
    shows why), the log in the state directory's logs/ (0600)."""
    policy = policy.expanduser().resolve()
    if not policy.is_file():
        raise CLIError(f"--audit-policy-file {policy}: no such file")
    return ["--audit-policy-file", str(policy), "--audit-log-path", str(state / "logs" / "audit.log")]


def dns_address(pod_cidr: str) -> str:
    """Where kube-dns listens: the node's own address on the pod bridge (the podCIDR's first host, the gateway
    of every pod, which the CNI bridge plugin or Docker's bridge network gives the host). Pods reach it directly,
    kube-proxy sends the kube-dns Service there, and nothing outside the machine can (it is not on any outside
    interface). It appears with the first pod; kube-dns binds before that (IP_FREEBIND)."""
    return str(ipaddress.IPv4Network(pod_cidr)[1])


def pod_nameserver(pod_cidr: str, pre: Preflight) -> str:
    """What ClusterFirst pods are told to ask: the kube-dns Service (10.96.0.10), as in Kubernetes; in userspace
    proxy mode, which proxies TCP only, the DNS server's own address (a resolver asks over UDP first)."""
    if pre.proxy_mode == "userspace":
        return dns_address(pod_cidr)
    return cluster_dns_ip(SERVICE_CIDR)
