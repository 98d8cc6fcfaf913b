"""certificates.k8s.io/v1 CertificateSigningRequests: what the apiserver validates and the controller-manager's
approver and signer decide, as pure functions over the object and its PEM request (k8s.io/kubernetes
`pkg/apis/certificates`, `pkg/controller/certificates`).

    parse_request(csr)          the x509 request of spec.request (ValueError if it is not one, or badly signed)
    condition_state(csr)        "Approved,Issued", "Pending", "Denied", ... as kubectl shows it
    kubelet_client_problem(..)  why a request is not a kubelet client certificate (None: it is one)
    kubelet_serving_problem(..) the same for a kubelet serving certificate
    sign(ca, request, ...)      the certificate the signer issues for an approved request
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apimachinery.pki import BACKDATE, CertificateAuthority, cert_pem

Obj = dict[str, Any]

KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBELET_CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"
SIGNERS = (KUBE_APISERVER_CLIENT, KUBELET_CLIENT, KUBELET_SERVING)
NODES_GROUP = "system:nodes"
NODE_PREFIX = "system:node:"
MIN_EXPIRATION_SECONDS = 600
APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"

KNOWN_USAGES = (
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth",
    "client auth", "code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user",
    "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
)  # fmt: skip
_EXTENDED = {
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}


def parse_request(pem: bytes) -> x509.CertificateSigningRequest:
    """The one CERTIFICATE REQUEST block of `pem`, with a valid self-signature; ValueError otherwise."""
    if pem.count(b"-----BEGIN CERTIFICATE REQUEST-----") != 1:
        raise ValueError("must contain exactly one CERTIFICATE REQUEST PEM block")
    request = x509.load_pem_x509_csr(pem)
    if not request.is_signature_valid:
        raise ValueError("the request's signature is not valid")
    return request


def conditions(csr: Obj) -> list[Obj]:
    found = (csr.get("status") or {}).get("conditions")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def has_condition(csr: Obj, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status", "True") == "True" for c in conditions(csr))


def condition_state(csr: Obj) -> str:
    """kubectl's CONDITION column: Denied, Approved or Pending, then ,Failed and ,Issued (in that order)."""
    types = {c.get("type") for c in conditions(csr)}
    state = DENIED if DENIED in types else APPROVED if APPROVED in types else "Pending"
    if FAILED in types:
        state += ",Failed"
    if (csr.get("status") or {}).get("certificate"):
        state += ",Issued"
    return state


def _subject(request: x509.CertificateSigningRequest) -> tuple[list[str], list[str]]:
    cns = [str(a.value) for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [str(a.value) for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return cns, orgs


def _sans(request: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName | None:
    try:
        return request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def common_name(request: x509.CertificateSigningRequest) -> str:
    cns, _ = _subject(request)
    return cns[0] if cns else ""


def _node_subject_problem(request: x509.CertificateSigningRequest) -> str | None:
    cns, orgs = _subject(request)
    if orgs != [NODES_GROUP]:
        return f'subject organization is not ["{NODES_GROUP}"]'
    if len(cns) != 1 or not cns[0].startswith(NODE_PREFIX) or cns[0] == NODE_PREFIX:
        return f'subject common name does not begin with "{NODE_PREFIX}"'
    return None


def _kubelet_usages_problem(usages: list[str], auth: str) -> str | None:
    """A kubelet certificate's usages: `auth` and digital signature, optionally key encipherment, nothing else."""
    if not {"digital signature", auth} <= set(usages) or not set(usages) <= {
        "digital signature",
        "key encipherment",
        auth,
    }:
        return f'usages must be "{auth}" and "digital signature" (and optionally "key encipherment")'
    return None


def kubelet_client_problem(request: x509.CertificateSigningRequest, usages: list[str]) -> str | None:
    """Why `request` is not a kubelet client certificate request (ValidateKubeletClientCSR), or None."""
    problem = _node_subject_problem(request)
    if problem:
        return problem
    if _sans(request) is not None:
        return "subject alternative names are not allowed"
    return _kubelet_usages_problem(usages, "client auth")


def kubelet_serving_problem(request: x509.CertificateSigningRequest, usages: list[str]) -> str | None:
    """Why `request` is not a kubelet serving certificate request (ValidateKubeletServingCSR), or None."""
    problem = _node_subject_problem(request)
    if problem:
        return problem
    sans = _sans(request)
    names = list(sans) if sans is not None else []
    if not names:
        return "DNS or IP subjectAltName is required"
    if any(not isinstance(n, (x509.DNSName, x509.IPAddress)) for n in names):
        return "only DNS and IP subjectAltNames are allowed"
    return _kubelet_usages_problem(usages, "server auth")


def client_problem(usages: list[str]) -> str | None:
    """kube-apiserver-client: only client usages."""
    if "client auth" not in usages or not set(usages) <= {
        "digital signature",
        "key encipherment",
        "client auth",
    }:
        return 'usages must include "client auth" and no server or signing usage'
    return None


def signer_problem(signer: str, request: x509.CertificateSigningRequest, usages: list[str]) -> str | None:
    if signer == KUBELET_CLIENT:
        return kubelet_client_problem(request, usages)
    if signer == KUBELET_SERVING:
        return kubelet_serving_problem(request, usages)
    if signer == KUBE_APISERVER_CLIENT:
        return client_problem(usages)
    return f"signer {signer} is not handled here"


def duration(csr_spec: Obj, maximum: dt.timedelta) -> dt.timedelta:
    """The certificate's lifetime: spec.expirationSeconds, capped by the signer's maximum, at least 10 minutes."""
    wanted = csr_spec.get("expirationSeconds")
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        return max(min(dt.timedelta(seconds=wanted), maximum), dt.timedelta(seconds=MIN_EXPIRATION_SECONDS))
    return maximum


def sign(
    ca: CertificateAuthority,
    request: x509.CertificateSigningRequest,
    usages: list[str],
    lifetime: dt.timedelta,
    now: dt.datetime,
) -> bytes:
    """A certificate PEM for `request`'s key and subject and SANs, with `usages`, valid for `lifetime`."""
    not_after = min(now + lifetime, ca.cert.not_valid_after_utc)
    extended = [_EXTENDED[u] for u in usages if u in _EXTENDED]
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca.cert.subject)
        .public_key(request.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - min(BACKDATE, lifetime / 10))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature="digital signature" in usages or "signing" in usages,
                content_commitment="content commitment" in usages,
                key_encipherment="key encipherment" in usages,
                data_encipherment="data encipherment" in usages,
                key_agreement="key agreement" in usages,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    sans = _sans(request)
    if sans is not None:
        builder = builder.add_extension(sans, critical=False)
    return cert_pem(builder.sign(ca.key, hashes.SHA256()))


def dns_sans(request: x509.CertificateSigningRequest) -> set[str]:
    sans = _sans(request)
    return set(sans.get_values_for_type(x509.DNSName)) if sans is not None else set()


def node_name_of(request: x509.CertificateSigningRequest) -> str:
    return common_name(request).removeprefix(NODE_PREFIX)


def ip_sans(request: x509.CertificateSigningRequest) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    sans = _sans(request)
    return [n.value for n in sans if isinstance(n, x509.IPAddress)] if sans is not None else []  # type: ignore[misc]
