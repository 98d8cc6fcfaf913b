"""One-shot job of the compose cluster: its CA, and each service's credentials in a volume of that service's own.

    /ca                      (volume pki-ca: only this job mounts it) ca.crt, ca.key, sa.key: kept across runs
    /pki/apiserver           ca.crt, apiserver.crt/.key (serving), apiserver-kubelet-client.crt/.key, sa.key,
                             front-proxy-client.crt/.key (the aggregation layer's client certificate, from the
                             front-proxy CA kept in /ca/front-proxy)
    /pki/scheduler           ca.crt, scheduler.conf (system:kube-scheduler), serving.crt/.key (its secure /metrics
                             port, for the names scheduler-1, scheduler-2)
    /pki/controller-manager  ca.crt, controller-manager.conf (system:kube-controller-manager), serving.crt/.key
                             (controller-manager-1, controller-manager-2), ca.key (the CSR signer signs
                             with the cluster CA, as kubeadm's controller-manager does)
    /pki/kube-dns            ca.crt, kube-dns.conf (the ServiceAccount kube-system/kube-dns)
    /pki/metrics-server      ca.crt, metrics-server.conf (system:metrics-server), metrics-server.crt/.key
                             (serving, metrics-server.kube-system.svc), front-proxy-ca.crt (whose client certificate
                             it believes X-Remote-* from)
    /pki/node-N              ca.crt, kubelet.conf (system:node:node-N), kube-proxy.conf (system:kube-proxy),
                             kube-netpol.conf (system:kube-netpol:node-N, in system:kube-netpols),
                             kubelet.crt/.key (the kubelet API's serving certificate, for the name node-N),
                             metrics.crt/.key (kube-proxy's and kube-netpol's secure /metrics ports, node-N)
    /out                     kubeconfig (the admin, https://127.0.0.1:$APISERVER_PORT) and ca.crt, for the host

So a node container holds only its own node's credential: no CA key, no admin credential, no other node's. The CA key
leaves /ca only for the controller-manager's CSR signer.
Keys and kubeconfigs are 0600 (the services run as root); /out's files are handed to the folder's owner.

Environment: NODES (default "node-1 node-2"), APISERVER_PORT, APISERVER_IP (an extra SAN), IN_CLUSTER_SERVER.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from apimachinery import user as users
from apimachinery.kubeconfig import write_kubeconfig
from apimachinery.pki import CertificateAuthority, key_pem, new_key, private_dir, write_private, write_public

CA_DIR = Path(os.environ.get("CA_DIR", "/ca"))
PKI = Path(os.environ.get("PKI_DIR", "/pki"))
OUT = Path(os.environ.get("OUT_DIR", "/out"))
NODES = os.environ.get("NODES", "node-1 node-2").split()
SERVER = os.environ.get("IN_CLUSTER_SERVER", "https://apiserver:6443")
APISERVER_PORT = os.environ.get("APISERVER_PORT", "6443")
APISERVER_NAMES = ["apiserver", "apiserver-1", "apiserver-2", "apiserver-lb", "localhost", "kubernetes",
                   "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]  # fmt: skip
APISERVER_IPS = ["127.0.0.1", "10.96.0.1", *filter(None, [os.environ.get("APISERVER_IP")])]


def kubeconfig(
    ca: CertificateAuthority, path: Path, server: str, user: str, groups: tuple[str, ...] = ()
) -> None:
    cert, key = ca.issue(user, groups)
    write_kubeconfig(path, "kubelite", server, ca_data=ca.pem, context="kubelite", user=user,
                     client_cert_data=cert, client_key_data=key)  # fmt: skip


def service_dir(name: str, ca: CertificateAuthority) -> Path:
    directory = private_dir(PKI / name)
    write_public(directory / "ca.crt", ca.pem)
    return directory


def main() -> None:
    ca = CertificateAuthority.load_or_create(CA_DIR)
    sa_key = CA_DIR / "sa.key"
    if not sa_key.exists():
        write_private(sa_key, key_pem(new_key()))

    api = service_dir("apiserver", ca)
    ca.issue_files(api, "apiserver", "kube-apiserver", server=True, client=False,
                   dns_names=APISERVER_NAMES, ip_addresses=APISERVER_IPS)  # fmt: skip
    ca.issue_files(api, "apiserver-kubelet-client", "kube-apiserver-kubelet-client")
    write_private(api / "sa.key", sa_key.read_bytes())
    front_proxy = CertificateAuthority.load_or_create(CA_DIR / "front-proxy", "front-proxy-ca")
    front_proxy.issue_files(api, "front-proxy-client", users.FRONT_PROXY_CLIENT)

    metrics = service_dir("metrics-server", ca)
    kubeconfig(ca, metrics / "metrics-server.conf", SERVER, users.METRICS_SERVER)
    ca.issue_files(metrics, "metrics-server", "metrics-server", server=True, client=False,
                   dns_names=["metrics-server.kube-system.svc", "metrics-server.kube-system.svc.cluster.local"])  # fmt: skip
    write_public(metrics / "front-proxy-ca.crt", front_proxy.pem)

    for name, user in (
        ("scheduler", "system:kube-scheduler"),
        ("controller-manager", "system:kube-controller-manager"),
    ):
        directory = service_dir(name, ca)
        kubeconfig(ca, directory / f"{name}.conf", SERVER, user)
        # Its secure /metrics port's certificate, for every replica's service name (the ha profile has two).
        ca.issue_files(directory, "serving", f"kube-{name}", server=True, client=False,
                       dns_names=[f"{name}-1", f"{name}-2", "localhost"], ip_addresses=["127.0.0.1"])  # fmt: skip
    write_private(PKI / "controller-manager" / "ca.key", (CA_DIR / "ca.key").read_bytes())
    kubeconfig(ca, service_dir("kube-dns", ca) / "kube-dns.conf", SERVER, "system:serviceaccount:kube-system:kube-dns",
               ("system:serviceaccounts", "system:serviceaccounts:kube-system"))  # fmt: skip
    for node in NODES:
        directory = service_dir(node, ca)
        kubeconfig(ca, directory / "kubelet.conf", SERVER, f"system:node:{node}", ("system:nodes",))
        kubeconfig(ca, directory / "kube-proxy.conf", SERVER, "system:kube-proxy")
        kubeconfig(ca, directory / "kube-netpol.conf", SERVER, *users.netpol_agent(node))
        ca.issue_files(directory, "kubelet", node, server=True, client=False, dns_names=[node, "localhost"],
                       ip_addresses=["127.0.0.1"])  # fmt: skip
        ca.issue_files(directory, "metrics", f"{node}-metrics", server=True, client=False,
                       dns_names=[node, "localhost"], ip_addresses=["127.0.0.1"])  # fmt: skip
    print(
        f"credentials written for the apiserver, scheduler, controller-manager, kube-dns, metrics-server and "
        f"{', '.join(NODES)}"
    )

    if OUT.is_dir():
        kubeconfig(ca, OUT / "kubeconfig", f"https://127.0.0.1:{APISERVER_PORT}", "kubernetes-admin",
                   ("system:masters",))  # fmt: skip
        write_public(OUT / "ca.crt", ca.pem)
        owner = OUT.stat()
        for name in ("kubeconfig", "ca.crt"):
            shutil.chown(OUT / name, owner.st_uid, owner.st_gid)
        print(f"admin kubeconfig written to the out folder (server https://127.0.0.1:{APISERVER_PORT})")


if __name__ == "__main__":
    main()
