"""The kubelet's client certificate rotation against a real apiserver and controller-manager: a certificate past
80% of its life is replaced through a CSR the node makes as itself (approved as `selfnodeclient`), written into
its kubeconfig (0600) and presented from then on by the same client."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apimachinery.client import Client
from apimachinery.kubeconfig import load, write_kubeconfig
from kubelet.certrotation import embedded_certificate, rotate_forever
from tests.harness import ApiServer

WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def old_certificate(apiserver: ApiServer, node: str) -> tuple[bytes, bytes]:
    """A client certificate for the node that is 90% through its life (issued an hour ago, ends in ~7 minutes)."""
    ca = apiserver.pki.ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}")])  # fmt: skip
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(ca.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(minutes=7))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def node_kubeconfig(apiserver: ApiServer, tmp_path: Path, node: str, cert: bytes, key: bytes) -> Path:
    path = tmp_path / "kubelet.conf"
    write_kubeconfig(path, "kubelite", apiserver.url, ca_data=Path(apiserver.ca_file).read_bytes(),
                     context="kubelite", user=f"system:node:{node}", client_cert_data=cert, client_key_data=key)  # fmt: skip
    return path


@pytest.mark.asyncio
async def test_a_certificate_near_its_end_is_rotated_as_the_node(
    apiserver: ApiServer, signer: Path, tmp_path: Path
) -> None:
    node = "rotating-1"
    cert, key = old_certificate(apiserver, node)
    kubeconfig = node_kubeconfig(apiserver, tmp_path, node, cert, key)
    before = embedded_certificate(kubeconfig)
    assert before is not None
    async with Client(load(kubeconfig)) as client:
        task = asyncio.create_task(rotate_forever(client, kubeconfig, node))
        try:
            async with asyncio.timeout(30):
                while (embedded_certificate(kubeconfig) or before).serial_number == before.serial_number:
                    await asyncio.sleep(0.2)
        finally:
            task.cancel()
        after = embedded_certificate(kubeconfig)
        assert after is not None and after.subject == before.subject
        # The signer's --cluster-signing-duration (2h in these tests) from now.
        assert after.not_valid_after_utc > before.not_valid_after_utc + dt.timedelta(hours=1)
        assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    config = yaml.safe_load(kubeconfig.read_text())
    assert base64.b64decode(config["users"][0]["user"]["client-certificate-data"]) != cert
    async with Client(load(kubeconfig)) as fresh:
        me = await fresh.request(
            "POST", WHOAMI, body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
        assert me["status"]["userInfo"]["username"] == f"system:node:{node}"
