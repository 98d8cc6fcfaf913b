"""The cluster's certificates: one CA that signs serving certificates (with SANs) and client certificates
(CN = user, O = groups), and the private files they live in.

    CertificateAuthority.create() / .load(dir)   a CA (ECDSA P-256) and its files ca.crt, ca.key
    ca.issue(cn, groups, ...)                    a (certificate PEM, key PEM) pair signed by the CA
    write_private(path, data)                    a file of mode 0600 (in a 0700 directory), written atomically
    subject(cert_der)                            (CN, O values) of a certificate, as the apiserver reads a client's

Everything cryptographic is done by `cryptography`; this module only chooses the profile (key type, validity,
extensions) that kube-apiserver and kubeadm use.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
CERT_DAYS = 365
# Clocks of the machines in a cluster disagree a little; certificates are valid from a few minutes ago.
BACKDATE = dt.timedelta(minutes=5)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, organizations: Iterable[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def subject(cert_der: bytes) -> tuple[str, tuple[str, ...]]:
    """(common name, organizations) of a DER certificate: a client certificate's user and groups."""
    cert = x509.load_der_x509_certificate(cert_der)
    cn = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return (cn[0] if cn else ""), orgs


@dataclass
class CertificateAuthority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, common_name: str = "kubelite-ca") -> CertificateAuthority:
        key = new_key()
        name = _name(common_name)
        cert = (
            _builder(name, name, key.public_key(), CA_DAYS, ca=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{directory / 'ca.key'} is not an ECDSA key")
        return cls(cert, key)

    @classmethod
    def load_or_create(cls, directory: Path, common_name: str = "kubelite-ca") -> CertificateAuthority:
        if (directory / "ca.crt").exists() and (directory / "ca.key").exists():
            return cls.load(directory)
        ca = cls.create(common_name)
        ca.save(directory)
        return ca

    def save(self, directory: Path) -> None:
        private_dir(directory)
        write_private(directory / "ca.key", key_pem(self.key))
        write_public(directory / "ca.crt", self.pem)

    @property
    def pem(self) -> bytes:
        return cert_pem(self.cert)

    def issue(
        self,
        common_name: str,
        groups: Iterable[str] = (),
        *,
        server: bool = False,
        client: bool = True,
        dns_names: Iterable[str] = (),
        ip_addresses: Iterable[str] = (),
        days: int = CERT_DAYS,
    ) -> tuple[bytes, bytes]:
        """A new key and a certificate for it: (certificate PEM, key PEM). `server` adds serverAuth and the SANs;
        `client` adds clientAuth (CN is the user name, each group an O)."""
        key = new_key()
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        )
        builder = (
            _builder(_name(common_name, groups), self.cert.subject, key.public_key(), days, ca=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dict.fromkeys(dns_names) if d]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in dict.fromkeys(ip_addresses) if ip]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert_pem(cert), key_pem(key)

    def issue_files(
        self, directory: Path, stem: str, common_name: str, **kwargs: object
    ) -> tuple[Path, Path]:
        """`issue` into `<stem>.crt` (0644) and `<stem>.key` (0600) in `directory`; returns their paths."""
        cert, key = self.issue(common_name, **kwargs)  # type: ignore[arg-type]
        private_dir(directory)
        write_private(directory / f"{stem}.key", key)
        write_public(directory / f"{stem}.crt", cert)
        return directory / f"{stem}.crt", directory / f"{stem}.key"


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int, *, ca: bool
) -> x509.CertificateBuilder:
    """What every certificate here has: names, key, a random serial, validity (backdated for clock skew), and
    the basic constraints and key usage of a CA (`ca`) or of a leaf."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=ca), critical=True)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


# ---- files ------------------------------------------------------------------------------------------------------


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing; the directory itself is made 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (keys, tokens): mode 0600 from the start, replaced atomically."""
    _write(path, data, 0o600)


def write_public(path: Path, data: bytes) -> None:
    """Write a certificate (public): mode 0644, replaced atomically."""
    _write(path, data, 0o644)
