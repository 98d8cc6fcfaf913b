"""Client certificate rotation (the kubelet's --rotate-certificates, client-go `util/certificate`): when 80% of the
certificate's lifetime has passed, the kubelet asks for a new one as itself (a CSR the controller-manager approves
as `selfnodeclient`), writes it into its kubeconfig (0600, atomically) and presents it from then on.

Only a kubeconfig that embeds its certificate (client-certificate-data, as `kctl join` and `kctl up` write them)
is rotated; a failed attempt is retried after RETRY seconds, the old certificate staying in use meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import tempfile
from pathlib import Path

import yaml
from cryptography import x509

from apimachinery.client import Client
from apimachinery.pki import write_private
from apimachinery.tlsbootstrap import request_client_certificate

log = logging.getLogger("kubelet.certrotation")

ROTATE_AT = 0.8  # of the lifetime
RETRY = 30.0
REQUEST_TIMEOUT = 300.0


def embedded_certificate(kubeconfig: Path) -> x509.Certificate | None:
    """The current context's embedded client certificate, or None."""
    config = yaml.safe_load(kubeconfig.read_text())
    users = {u["name"]: u.get("user") or {} for u in config.get("users") or []}
    contexts = {c["name"]: c.get("context") or {} for c in config.get("contexts") or []}
    user = users.get(contexts.get(config.get("current-context"), {}).get("user"), {})
    data = user.get("client-certificate-data")
    return x509.load_pem_x509_certificate(base64.b64decode(data)) if data else None


def rotation_due(cert: x509.Certificate) -> dt.datetime:
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    return cert.not_valid_before_utc + lifetime * ROTATE_AT


def replace_credentials(kubeconfig: Path, cert: bytes, key: bytes) -> None:
    """The kubeconfig with the current user's certificate and key replaced (0600, atomically)."""
    config = yaml.safe_load(kubeconfig.read_text())
    contexts = {c["name"]: c.get("context") or {} for c in config.get("contexts") or []}
    name = contexts.get(config.get("current-context"), {}).get("user")
    for entry in config.get("users") or []:
        if entry["name"] == name:
            entry["user"]["client-certificate-data"] = base64.b64encode(cert).decode()
            entry["user"]["client-key-data"] = base64.b64encode(key).decode()
    write_private(kubeconfig, yaml.safe_dump(config).encode())


def present(client: Client, cert: bytes, key: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="kubelet-cert-") as tmp:
        cert_file, key_file = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        write_private(cert_file, cert)
        write_private(key_file, key)
        client.use_client_certificate(str(cert_file), str(key_file))


async def rotate_forever(client: Client, kubeconfig: Path, node: str) -> None:
    """Until cancelled: sleep until rotation is due, rotate, repeat."""
    while True:
        cert = embedded_certificate(kubeconfig)
        if cert is None:
            log.info("client certificate is not embedded in the kubeconfig: not rotating it")
            return
        wait = (rotation_due(cert) - dt.datetime.now(dt.UTC)).total_seconds()
        if wait > 0:
            log.info("client certificate rotation scheduled", extra={"in_seconds": round(wait)})
            await asyncio.sleep(wait)
        try:
            new_cert, new_key = await request_client_certificate(client, node, timeout=REQUEST_TIMEOUT)
        except Exception as exc:  # the API or the approver is down: keep the old one, try again later
            log.warning("client certificate rotation failed, retrying", extra={"error": str(exc)})
            await asyncio.sleep(RETRY)
            continue
        replace_credentials(kubeconfig, new_cert, new_key)
        present(client, new_cert, new_key)
        log.info(
            "client certificate rotated",
            extra={"not_after": str(x509.load_pem_x509_certificate(new_cert).not_valid_after_utc)},
        )
