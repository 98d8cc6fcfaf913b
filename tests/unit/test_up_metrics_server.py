"""`kctl up`'s aggregation layer and metrics-server: the front-proxy CA (separate from the cluster CA), the
apiserver's front-proxy client certificate, metrics-server's serving certificate and its own identity, and the
flags that wire them."""

from __future__ import annotations

import stat
from pathlib import Path

from apimachinery.pki import CertificateAuthority, subject
from cli.credentials import identities, make_credentials
from cli.up_components import DEFAULT_PORTS, components
from cli.up_preflight import Preflight


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_credentials_and_flags(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    creds = make_credentials(tmp_path, "vm", "192.0.2.7", "https://127.0.0.1:6443")
    front = CertificateAuthority.load(creds.pki / "front-proxy")
    cluster = CertificateAuthority.load(creds.pki)
    assert front.cert.subject != cluster.cert.subject
    client = x509.load_pem_x509_certificate(creds.cert("front-proxy-client").read_bytes())
    assert subject(client.public_bytes(Encoding.DER))[0] == "front-proxy-client"
    assert client.issuer == front.cert.subject
    serving = x509.load_pem_x509_certificate(creds.cert("metrics-server").read_bytes())
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )
    assert "metrics-server.kube-system.svc" in names and serving.issuer == cluster.cert.subject
    for key in (
        creds.key("front-proxy-client"),
        creds.key("metrics-server"),
        creds.pki / "front-proxy" / "ca.key",
    ):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert identities("vm")["metrics-server"] == ("system:metrics-server", ())
    assert stat.S_IMODE(creds.kubeconfig("metrics-server").stat().st_mode) == 0o600
    # Made once and kept, as the cluster CA.
    again = make_credentials(tmp_path, "vm", "192.0.2.7", "https://127.0.0.1:6443")
    assert CertificateAuthority.load(again.pki / "front-proxy").cert == front.cert

    comps = components(tmp_path, DEFAULT_PORTS, "vm", "10.244.3.0/24", Preflight(), None, creds)
    api = next(c["argv"] for c in comps if c["name"] == "kube-apiserver")
    assert _flag(api, "--proxy-client-cert-file") == str(creds.cert("front-proxy-client"))
    assert _flag(api, "--register-metrics-apiservice") == str(creds.ca)
    ms = next(c for c in comps if c["name"] == "metrics-server")
    assert _flag(ms["argv"], "--kubeconfig") == str(creds.kubeconfig("metrics-server"))
    assert _flag(ms["argv"], "--requestheader-client-ca-file") == str(creds.front_proxy_ca)
    assert _flag(ms["argv"], "--tls-cert-file") == str(creds.cert("metrics-server"))
    assert ms["health"] == "http://127.0.0.1:10271/readyz"
