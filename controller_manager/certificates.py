"""Two controllers for CertificateSigningRequests (kube-controller-manager's csrapproving and csrsigning):

* csrapproving: a pending request for a kubelet client certificate (signer kube-apiserver-client-kubelet,
  subject system:node:<name> in system:nodes, client usages, no SANs) is approved when a SubjectAccessReview
  says its requester may create `certificatesigningrequests/nodeclient` (a bootstrap token's user) or, when the
  requester is the node itself, `certificatesigningrequests/selfnodeclient` (renewal). kubelite adds one rule of
  its own: a node's request for its own kubelet serving certificate (its name as the only DNS SAN) is approved
  after a review of `certificatesigningrequests/selfnodeserving`. Anything else is left for a person
  (`kubectl certificate approve`).
* csrsigning: an approved, not yet issued request for one of our signers (kube-apiserver-client,
  kube-apiserver-client-kubelet, kubelet-serving) gets a certificate from the cluster CA, valid for
  spec.expirationSeconds capped at --cluster-signing-duration; a request the signer's rules refuse gets a Failed
  condition instead. Without --cluster-signing-cert-file/--cluster-signing-key-file the signer does nothing.

Both read the informer cache and write through /approval and /status; a request that is gone is done.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apimachinery import certificates as certs
from apimachinery.errors import StatusError, is_not_found
from apimachinery.pki import CertificateAuthority
from apimachinery.resources import must_resource
from apimachinery.timefmt import now_rfc3339
from controller_manager.base import Context, Controller
from controller_manager.podutil import Obj

log = logging.getLogger(__name__)

CSRS = must_resource("certificates.k8s.io", "certificatesigningrequests")
SUBJECT_ACCESS_REVIEWS = must_resource("authorization.k8s.io", "subjectaccessreviews")


def _request(csr: Obj) -> Any:
    """The parsed x509 request, or None when it does not parse (the apiserver validated it; be safe)."""
    try:
        return certs.parse_request(base64.b64decode(str((csr.get("spec") or {}).get("request") or "")))
    except (ValueError, binascii.Error):
        return None


def _finished(csr: Obj) -> bool:
    return (
        certs.has_condition(csr, certs.APPROVED)
        or certs.has_condition(csr, certs.DENIED)
        or certs.has_condition(csr, certs.FAILED)
        or bool((csr.get("status") or {}).get("certificate"))
    )


def approval_subresources(csr: Obj) -> list[str]:
    """Which SubjectAccessReviews may approve `csr` (pure): ["selfnodeclient", "nodeclient"], ["nodeclient"],
    ["selfnodeserving"] or []."""
    spec = csr.get("spec") or {}
    request = _request(csr)
    if request is None:
        return []
    usages = list(spec.get("usages") or [])
    own = spec.get("username") == certs.common_name(request)
    if spec.get("signerName") == certs.KUBELET_SERVING:
        # kubelite's rule (upstream leaves serving certificates to a person): the node itself, for its own name.
        # Its IP SANs are the addresses it also writes into its own Node status, which is all the apiserver dials.
        if not own or certs.kubelet_serving_problem(request, usages):
            return []
        return ["selfnodeserving"] if certs.dns_sans(request) <= {certs.node_name_of(request)} else []
    if spec.get("signerName") != certs.KUBELET_CLIENT or certs.kubelet_client_problem(request, usages):
        return []
    return ["selfnodeclient", "nodeclient"] if own else ["nodeclient"]


def _condition(type_: str, reason: str, message: str) -> Obj:
    now = now_rfc3339()
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    }


class _CSRController(Controller):
    """A controller of CertificateSigningRequests, keyed by name; it ignores deletes (nothing is left to do)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.csrs = self.watch(CSRS, self.enqueue_object, on_delete=None)


class CSRApprovingController(_CSRController):
    name = "csrapproving"

    async def reconcile(self, key: str) -> float | None:
        csr = self.csrs.store.get(key)
        if csr is None or _finished(csr):
            return None
        for sub in approval_subresources(csr):
            if await self._allowed(csr, sub):
                await self._approve(csr, sub)
                return None
        return None

    async def _allowed(self, csr: Obj, subresource: str) -> bool:
        spec = csr.get("spec") or {}
        review: Obj = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": spec.get("username", ""),
                "uid": spec.get("uid", ""),
                "groups": spec.get("groups") or [],
                "extra": spec.get("extra") or {},
                "resourceAttributes": {
                    "group": CSRS.group,
                    "resource": CSRS.resource,
                    "verb": "create",
                    "subresource": subresource,
                    "version": "*",
                },
            },
        }
        answer = await self.client.create(SUBJECT_ACCESS_REVIEWS, review)
        return bool((answer.get("status") or {}).get("allowed"))

    async def _approve(self, csr: Obj, subresource: str) -> None:
        message = {
            "selfnodeclient": "Auto approving self kubelet client certificate after SubjectAccessReview.",
            "nodeclient": "Auto approving kubelet client certificate after SubjectAccessReview.",
        }.get(
            subresource,
            "Auto approving the node's own kubelet serving certificate after SubjectAccessReview.",
        )
        body = {**csr, "status": {**(csr.get("status") or {})}}
        body["status"]["conditions"] = [
            *certs.conditions(csr),
            _condition(certs.APPROVED, "AutoApproved", message),
        ]
        try:
            await self.client.update(CSRS, body, subresource="approval")
        except StatusError as err:
            if not is_not_found(err):
                raise
            return
        log.info("approved", extra={"csr": csr["metadata"]["name"], "rule": subresource})


class CSRSigningController(_CSRController):
    name = "csrsigning"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.ca = _load_ca(ctx.options.cluster_signing_cert_file, ctx.options.cluster_signing_key_file)
        self.maximum = dt.timedelta(seconds=ctx.options.cluster_signing_duration)

    async def reconcile(self, key: str) -> float | None:
        csr = self.csrs.store.get(key)
        if csr is None or self.ca is None:
            return None
        spec = csr.get("spec") or {}
        signer = spec.get("signerName")
        if signer not in certs.SIGNERS or not certs.has_condition(csr, certs.APPROVED):
            return None
        if certs.has_condition(csr, certs.FAILED) or (csr.get("status") or {}).get("certificate"):
            return None
        request = _request(csr)
        usages = [str(u) for u in spec.get("usages") or []]
        problem = (
            "the request does not parse" if request is None else certs.signer_problem(signer, request, usages)
        )
        status = {**(csr.get("status") or {})}
        if problem:
            status["conditions"] = [
                *certs.conditions(csr),
                _condition(certs.FAILED, "SignerValidationFailure", problem),
            ]
        else:
            now = dt.datetime.now(dt.UTC)
            pem = certs.sign(self.ca, request, usages, certs.duration(spec, self.maximum), now)
            status["certificate"] = base64.b64encode(pem).decode()
        try:
            await self.client.update(CSRS, {**csr, "status": status}, subresource="status")
        except StatusError as err:
            if not is_not_found(err):
                raise
            return None
        log.info("signed" if not problem else "refused", extra={"csr": key, "signer": signer, "why": problem})
        return None


def _load_ca(cert_file: str, key_file: str) -> CertificateAuthority | None:
    if not cert_file or not key_file:
        return None
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_file} is not an ECDSA key")
    return CertificateAuthority(cert, key)
