"""HTTPS for a dashboard that listens beyond loopback: the token must not cross a network in clear.

With `--tls-cert-file`/`--tls-private-key-file` it serves that certificate. Without them it makes a throwaway
one for this run (its own one-off CA, so the browser warns once) in a private temp dir that is removed when the
dashboard stops, and prints its SHA-256 fingerprint so the user can check what the browser shows.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from apimachinery.pki import CertificateAuthority, private_dir


@dataclass
class Serving:
    cert_file: str
    key_file: str
    fingerprint: str  # SHA-256, colon-separated hex, as browsers show it
    tmp_dir: Path | None = None  # ours to remove

    def cleanup(self) -> None:
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)


def fingerprint(cert_file: str) -> str:
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def throwaway(address: str) -> Serving:
    """A certificate for `address` (and this host's name, and localhost), valid for this run only."""
    directory = private_dir(Path(tempfile.mkdtemp(prefix="kubelite-dashboard-tls-")))
    ip = ipaddress.ip_address(address)
    ips = ["127.0.0.1"] + ([address] if not ip.is_unspecified else [])
    ca = CertificateAuthority.create("kubelite-dashboard (this run only)")
    cert, key = ca.issue_files(
        directory, "dashboard", "kubelite-dashboard", server=True, client=False,
        dns_names=[socket.gethostname(), "localhost"], ip_addresses=ips, days=30,
    )  # fmt: skip
    return Serving(str(cert), str(key), fingerprint(str(cert)), directory)


def given(cert_file: str, key_file: str) -> Serving:
    return Serving(cert_file, key_file, fingerprint(cert_file))
