"""Kubelet TLS bootstrap and renewal: a new key, a CertificateSigningRequest for system:node:<name> in
system:nodes (signer kube-apiserver-client-kubelet), and the wait for the certificate the controller-manager
issues once it is approved (k8s.io/client-go `util/certificate/csr`).

`request_client_certificate` is used by `kctl join` with a bootstrap token (auto-approved as `nodeclient`) and by
the kubelet with its current certificate when that nears expiry (auto-approved as `selfnodeclient`).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from apimachinery.backoff import Backoff
from apimachinery.certificates import (
    APPROVED,
    DENIED,
    FAILED,
    KUBELET_CLIENT,
    KUBELET_SERVING,
    NODES_GROUP,
    has_condition,
)
from apimachinery.client import Client
from apimachinery.pki import key_pem, new_key
from apimachinery.resources import must_resource

CSRS = must_resource("certificates.k8s.io", "certificatesigningrequests")
CLIENT_USAGES = ["digital signature", "client auth"]
SERVING_USAGES = ["digital signature", "server auth"]


class BootstrapError(RuntimeError):
    """The certificate was denied, failed, or did not come in time."""


def node_csr(node: str, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
    """(CSR PEM, key PEM) for system:node:<node> in system:nodes, with DNS and IP SANs when given (serving)."""
    key = new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, NODES_GROUP),
            x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}"),
        ]
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    request = builder.sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM), key_pem(key)


async def request_client_certificate(
    client: Client, node: str, *, timeout: float, expiration_seconds: int | None = None
) -> tuple[bytes, bytes]:
    """Ask for a kubelet client certificate as whoever `client` is; (certificate PEM, key PEM)."""
    csr_pem, key = node_csr(node)
    return await _request(client, csr_pem, key, KUBELET_CLIENT, CLIENT_USAGES, timeout, expiration_seconds)


async def request_serving_certificate(
    client: Client, node: str, ips: tuple[str, ...], *, timeout: float
) -> tuple[bytes, bytes]:
    """Ask, as the node itself, for the kubelet API's serving certificate (its name and addresses)."""
    csr_pem, key = node_csr(node, dns=(node,), ips=ips)
    return await _request(client, csr_pem, key, KUBELET_SERVING, SERVING_USAGES, timeout, None)


async def _request(
    client: Client,
    csr_pem: bytes,
    key: bytes,
    signer: str,
    usages: list[str],
    timeout: float,
    expiration_seconds: int | None,
) -> tuple[bytes, bytes]:
    spec: dict[str, Any] = {
        "request": base64.b64encode(csr_pem).decode(),
        "signerName": signer,
        "usages": usages,
    }
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": f"node-csr-{secrets.token_hex(8)}"},
        "spec": spec,
    }
    created = await client.create(CSRS, body)
    cert = await wait_for_certificate(client, created["metadata"]["name"], timeout)
    return cert, key


async def wait_for_certificate(client: Client, name: str, timeout: float) -> bytes:
    """Poll the CSR until it is issued (its certificate PEM), denied or failed (BootstrapError), or `timeout`."""
    deadline = time.monotonic() + timeout
    backoff = Backoff(initial=0.1, cap=1.0)
    while True:
        csr = await client.get(CSRS, name)
        certificate = (csr.get("status") or {}).get("certificate")
        if certificate:
            return base64.b64decode(certificate)
        for bad in (DENIED, FAILED):
            if has_condition(csr, bad):
                raise BootstrapError(f"the certificate signing request {name} was {bad.lower()}")
        if time.monotonic() >= deadline:
            approved = "approved but not issued" if has_condition(csr, APPROVED) else "not approved"
            raise BootstrapError(
                f"the certificate signing request {name} was {approved} within {timeout:.0f}s"
            )
        await asyncio.sleep(backoff.next())
