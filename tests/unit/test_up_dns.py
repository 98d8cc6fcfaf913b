"""`kctl up`'s component list: kube-dns on the pod bridge's address as its own identity, and what the kubelet tells
pods to ask."""

from __future__ import annotations

import stat
from pathlib import Path

from cli.credentials import ClusterCredentials, identities
from cli.up_components import DEFAULT_PORTS, components
from cli.up_preflight import Preflight

CREDS = ClusterCredentials(Path("/tmp/state"))


def _argv(comps: list[dict], name: str) -> list[str]:
    return next(c["argv"] for c in comps if c["name"] == name)


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_kube_dns_runs_on_the_bridge_address_and_pods_ask_the_service():
    comps = components(Path("/tmp/state"), DEFAULT_PORTS, "vm", "10.244.3.0/24", Preflight(), None, CREDS)
    names = [c["name"] for c in comps]
    assert names.index("kube-dns") < names.index("kubelet")  # DNS is up before the first pod starts
    dns = _argv(comps, "kube-dns")
    assert _flag(dns, "--bind-address") == "10.244.3.1"
    assert _flag(dns, "--metrics-port") == "9153"
    # Its own credential (made by make_credentials with the others): the ServiceAccount kube-system/kube-dns.
    assert _flag(dns, "--kubeconfig") == "/tmp/state/kubeconfigs/kube-dns.conf"
    assert identities("vm")["kube-dns"] == (
        "system:serviceaccount:kube-system:kube-dns",
        ("system:serviceaccounts", "system:serviceaccounts:kube-system"),
    )
    assert "--master" not in dns
    kubelet = _argv(comps, "kubelet")
    assert _flag(kubelet, "--cluster-dns") == "10.96.0.10"
    assert _flag(kubelet, "--cluster-domain") == "cluster.local"


def test_in_userspace_mode_pods_ask_the_dns_server_directly():
    # Userspace kube-proxy proxies TCP only; resolvers ask over UDP.
    comps = components(
        Path("/tmp/state"), DEFAULT_PORTS, "vm", "10.244.3.0/24", Preflight("userspace"), None, CREDS
    )
    assert _flag(_argv(comps, "kubelet"), "--cluster-dns") == "10.244.3.1"


def test_kube_dns_gets_its_own_private_kubeconfig(tmp_path: Path) -> None:
    from cryptography import x509

    from apimachinery.kubeconfig import load
    from cli.credentials import make_credentials

    creds = make_credentials(tmp_path / "state", "vm", None, "https://127.0.0.1:6443")
    path = creds.kubeconfig("kube-dns")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    config = load(path)
    assert config.server == "https://127.0.0.1:6443" and config.cert_data and config.key_data
    subject = x509.load_pem_x509_certificate(config.cert_data.encode()).subject
    assert (
        subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        == "system:serviceaccount:kube-system:kube-dns"
    )
    groups = {a.value for a in subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)}
    assert groups == {
        "system:serviceaccounts",
        "system:serviceaccounts:kube-system",
    }  # as a token of it would carry
