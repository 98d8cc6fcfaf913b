"""The cluster's certificates: a CA, serving certificates with SANs, client certificates whose subject names a user
and groups, and private files."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from apimachinery.pki import CertificateAuthority, subject, write_private


def test_client_certificate_names_user_and_groups(tmp_path: Path) -> None:
    ca = CertificateAuthority.create()
    cert_pem, key_pem = ca.issue("system:node:n1", ("system:nodes",))
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert subject(cert.public_bytes(Encoding.DER)) == ("system:node:n1", ("system:nodes",))
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.issuer == ca.cert.subject
    assert b"PRIVATE KEY" in key_pem


def test_serving_certificate_verifies_for_its_names_only(tmp_path: Path) -> None:
    ca = CertificateAuthority.create()
    ca.save(tmp_path / "pki")
    cert, key = ca.issue_files(tmp_path / "pki", "srv", "kube-apiserver", server=True, client=False,
                               dns_names=["kubernetes.default.svc"], ip_addresses=["10.96.0.1"])  # fmt: skip
    sans = (
        x509.load_pem_x509_certificate(cert.read_bytes())
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert sans.get_values_for_type(x509.DNSName) == ["kubernetes.default.svc"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.96.0.1")]
    # The files: keys private, the directory private, certificates readable.
    assert stat.S_IMODE((tmp_path / "pki").stat().st_mode) == 0o700
    assert (
        stat.S_IMODE(key.stat().st_mode) == 0o600
        and stat.S_IMODE((tmp_path / "pki" / "ca.key").stat().st_mode) == 0o600
    )
    assert stat.S_IMODE(cert.stat().st_mode) == 0o644
    # Python's TLS stack accepts the pair and the chain.
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.crt"))
    assert client.verify_mode == ssl.CERT_REQUIRED
    # Loading keeps the CA (and its key): certificates issued later chain to the same root.
    again = CertificateAuthority.load_or_create(tmp_path / "pki")
    assert again.cert == ca.cert


def test_write_private_replaces_atomically_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token"]
