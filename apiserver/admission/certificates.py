"""Admission for CertificateSigningRequests (k8s.io/kubernetes `plugin/pkg/admission/certificates`).

CSRRequester                    mutating: spec.username, uid, groups and extra are the creator's, whatever
                                the body said (upstream's strategy does this on create)
CertificateApproval             an Approved or Denied condition needs `approve` on `signers` named by the
                                signerName (or `<domain>/*`)
CertificateSigning              issuing (status.certificate) needs `sign` on the signer
CertificateSubjectRestriction   kube-apiserver-client certificates may not name the group system:masters
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from cryptography.x509.oid import NameOID

from apimachinery.certificates import KUBE_APISERVER_CLIENT, parse_request
from apimachinery.resources import ResourceInfo
from apimachinery.user import MASTERS, UserInfo
from apiserver.admission import Attributes, forbidden
from apiserver.auth.authorizer import Attributes as AuthAttributes
from apiserver.auth.authorizer import Decision
from apiserver.auth.requestinfo import RequestInfo

Obj = dict[str, Any]
GROUP = "certificates.k8s.io"
Authorize = Callable[[AuthAttributes], tuple[Decision, str]]


def _is_csr(info: ResourceInfo) -> bool:
    return (info.group, info.resource) == (GROUP, "certificatesigningrequests")


def _spec(obj: Obj | None) -> Obj:
    spec = (obj or {}).get("spec")
    return spec if isinstance(spec, dict) else {}


class CSRRequester:
    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return _is_csr(info) and operation == "CREATE" and not subresource

    async def admit(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user) or not isinstance(a.obj, dict):
            return
        spec = a.obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        spec["username"] = a.user.name
        if a.user.uid:
            spec["uid"] = a.user.uid
        if a.user.groups:
            spec["groups"] = list(a.user.groups)
        if a.user.extra:
            spec["extra"] = {k: list(v) for k, v in a.user.extra.items()}


def signer_allowed(authorize: Authorize, user: UserInfo, verb: str, signer: str) -> bool:
    """`verb` on certificates.k8s.io signers named `signer` or `<domain>/*` (upstream's IsAuthorizedForSignerName)."""
    for name in (signer, signer.partition("/")[0] + "/*"):
        info = RequestInfo(
            verb=verb, path="", resource_request=True, api_group=GROUP, resource="signers", name=name
        )
        if authorize(AuthAttributes(user, info))[0] is Decision.ALLOW:
            return True
    return False


def _conditions(obj: Obj | None) -> list[tuple[Any, Any]]:
    found = ((obj or {}).get("status") or {}).get("conditions") or []
    return [(c.get("type"), c.get("status")) for c in found if isinstance(c, dict)]


class _SignerPermission:
    """An UPDATE of a CSR's `subresource` needs `verb` on the request's signer (upstream's certificate approval and
    signing plugins)."""

    subresource: str
    verb: str

    def __init__(self, authorize: Authorize) -> None:
        self.authorize = authorize

    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return _is_csr(info) and operation == "UPDATE" and subresource == self.subresource

    def applies(self, a: Attributes) -> bool:
        return True

    async def validate(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user) or not self.applies(a):
            return
        signer = str(_spec(a.old).get("signerName") or "")
        if not signer_allowed(self.authorize, a.user, self.verb, signer):
            raise forbidden(a, f'user not permitted to {self.verb} requests with signerName "{signer}"')


class CertificateApproval(_SignerPermission):
    subresource, verb = "approval", "approve"


class CertificateSigning(_SignerPermission):
    subresource, verb = "status", "sign"

    def applies(self, a: Attributes) -> bool:
        """Only a change of the issued certificate is signing."""
        new = ((a.obj or {}).get("status") or {}).get("certificate")
        old = ((a.old or {}).get("status") or {}).get("certificate")
        return bool(new != old)


class CertificateSubjectRestriction:
    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return _is_csr(info) and operation == "CREATE" and not subresource

    async def validate(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user):
            return
        spec = _spec(a.obj)
        if spec.get("signerName") != KUBE_APISERVER_CLIENT:
            return
        try:
            request = parse_request(base64.b64decode(str(spec.get("request") or ""), validate=True))
        except (ValueError, binascii.Error):
            return  # validation has said what is wrong with it
        orgs = [str(o.value) for o in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if MASTERS in orgs:
            raise forbidden(a, f"use of {KUBE_APISERVER_CLIENT} signer with {MASTERS} group is not allowed")
