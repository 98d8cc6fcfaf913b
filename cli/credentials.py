"""The credentials `kctl up` makes for its cluster, in the state directory (0700):

    pki/ca.crt, ca.key                      the cluster CA (made once, kept across `up`s)
    pki/apiserver.crt, .key                 the apiserver's serving certificate (localhost, the node's address,
                                            10.96.0.1 and kubernetes.default.svc...)
    pki/apiserver-kubelet-client.crt, .key  the apiserver's client certificate for the kubelet API
    pki/kubelet.crt, .key                   the kubelet API's serving certificate (node name and address)
    pki/sa.key                              the ServiceAccount token signing key
    pki/front-proxy/ca.crt, ca.key          the front-proxy CA (the aggregation layer; made once, kept)
    pki/front-proxy-client.crt, .key        the apiserver's front-proxy client certificate (CN front-proxy-client):
                                            aggregated servers believe X-Remote-* only from it
    pki/metrics-server.crt, .key            metrics-server's serving certificate (metrics-server.kube-system.svc)
    kubeconfigs/<component>.conf            one client certificate per component, each its own least-privileged
                                            identity: admin (system:masters), kube-scheduler, kube-controller-
                                            manager, kubelet (system:node:<node>), kube-proxy, kube-netpol
                                            (system:kube-netpol:<node>), kube-dns (the ServiceAccount
                                            kube-system/kube-dns), metrics-server (system:metrics-server)

Every key and kubeconfig is 0600. Certificates are re-issued on each `up` (cheap; the addresses may have
changed); the CA and the signing key are kept, so existing ServiceAccount tokens and kubeconfigs stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apimachinery import user as users
from apimachinery.kubeconfig import write_kubeconfig
from apimachinery.pki import CertificateAuthority, key_pem, new_key, private_dir, write_private

SERVICE_IP = "10.96.0.1"
SERVICE_NAMES = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
]
ADMIN = ("kubernetes-admin", (users.MASTERS,))


@dataclass(frozen=True)
class ClusterCredentials:
    state: Path

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def ca(self) -> Path:
        return self.pki / "ca.crt"

    def kubeconfig(self, component: str) -> Path:
        return self.state / "kubeconfigs" / f"{component}.conf"

    def cert(self, stem: str) -> Path:
        return self.pki / f"{stem}.crt"

    def key(self, stem: str) -> Path:
        return self.pki / f"{stem}.key"

    @property
    def sa_key(self) -> Path:
        return self.pki / "sa.key"

    @property
    def front_proxy_ca(self) -> Path:
        return self.pki / "front-proxy" / "ca.crt"


def identities(node: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """kubeconfig name -> (user, groups) of each component."""
    return {
        "admin": ADMIN,
        "kube-scheduler": (users.KUBE_SCHEDULER, ()),
        "kube-controller-manager": (users.KUBE_CONTROLLER_MANAGER, ()),
        "kubelet": (f"{users.NODE_PREFIX}{node}", (users.NODES,)),
        "kube-proxy": (users.KUBE_PROXY, ()),
        "kube-netpol": users.netpol_agent(node),
        "kube-dns": (users.KUBE_DNS, users.KUBE_DNS_GROUPS),
        "metrics-server": (users.METRICS_SERVER, ()),
    }


def make_credentials(state: Path, node: str, node_ip: str | None, server: str) -> ClusterCredentials:
    """Create (or refresh) every credential of the cluster in `state` for apiserver URL `server`."""
    creds = ClusterCredentials(state)
    private_dir(state)
    ca = CertificateAuthority.load_or_create(creds.pki)
    ips = ["127.0.0.1", SERVICE_IP, *([node_ip] if node_ip else [])]
    ca.issue_files(creds.pki, "apiserver", "kube-apiserver", server=True, client=False,
                   dns_names=["localhost", node, *SERVICE_NAMES], ip_addresses=ips)  # fmt: skip
    ca.issue_files(creds.pki, "apiserver-kubelet-client", users.APISERVER_KUBELET_CLIENT)
    ca.issue_files(creds.pki, "kubelet", node, server=True, client=False, dns_names=[node, "localhost"],
                   ip_addresses=["127.0.0.1", *([node_ip] if node_ip else [])])  # fmt: skip
    # The aggregation layer: a CA of its own, so that no cluster client certificate can pass for the front proxy.
    front_proxy = CertificateAuthority.load_or_create(creds.pki / "front-proxy", "front-proxy-ca")
    front_proxy.issue_files(creds.pki, "front-proxy-client", users.FRONT_PROXY_CLIENT)
    ca.issue_files(creds.pki, "metrics-server", "metrics-server", server=True, client=False,
                   dns_names=["metrics-server.kube-system.svc", "metrics-server.kube-system.svc.cluster.local"])  # fmt: skip
    if not creds.sa_key.exists():
        write_private(creds.sa_key, key_pem(new_key()))
    private_dir(state / "kubeconfigs")
    for component, (user, groups) in identities(node).items():
        cert, key = ca.issue(user, groups)
        write_kubeconfig(
            creds.kubeconfig(component),
            "kubelite",
            server,
            ca_data=ca.pem,
            context="kubelite",
            user=user,
            client_cert_data=cert,
            client_key_data=key,
        )
    return creds


def admin_credentials(creds: ClusterCredentials) -> tuple[bytes, bytes, bytes]:
    """(CA, admin certificate, admin key) PEMs, from the admin kubeconfig."""
    from apimachinery.kubeconfig import load

    config = load(creds.kubeconfig("admin"))
    assert config.ca_data and config.cert_data and config.key_data
    return config.ca_data.encode(), config.cert_data.encode(), config.key_data.encode()
