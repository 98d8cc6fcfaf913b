"""CertificateSigningRequests in the store (k8s.io/kubernetes `pkg/registry/certificates/certificates`).

* create: status is dropped; spec.username/uid/groups/extra are the requester's (set by admission, see
  apiserver/admission/certificates.py); spec.request must be one well-signed PEM request.
* update of the object: spec and status stay as they were (only metadata changes).
* /approval: only status.conditions change (Approved, Denied and the rest).
* /status: everything in status but the Approved and Denied conditions, which only /approval changes; a
  certificate, once issued, is never changed.
"""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

from cryptography import x509

from apimachinery.certificates import (
    APPROVED,
    DENIED,
    KNOWN_USAGES,
    LEGACY_UNKNOWN,
    MIN_EXPIRATION_SECONDS,
    parse_request,
)
from apimachinery.validation.common import Errs, duplicate, forbidden, invalid, not_supported, required
from apimachinery.validation.syntax import is_qualified_name
from apiserver.strategy import Strategy

Obj = dict[str, Any]
APPROVAL_TYPES = (APPROVED, DENIED)


class CSRStrategy(Strategy):
    status_subresource = True
    reset_status_on_create = True

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        new["spec"] = copy.deepcopy(old.get("spec") or {})

    def prepare_for_subresource(self, new: Obj, old: Obj, subresource: str) -> None:
        """`new` is `old` with the status the client sent; keep what this subresource may not change."""
        sent: Obj = new["status"] if isinstance(new.get("status"), dict) else {}
        status = copy.deepcopy(old.get("status") or {})
        sent_conditions = [c for c in sent.get("conditions") or [] if isinstance(c, dict)]
        old_conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
        if subresource == "approval":
            status["conditions"] = sent_conditions
        else:
            kept = [c for c in old_conditions if c.get("type") in APPROVAL_TYPES]
            status = {k: v for k, v in sent.items() if k != "conditions"}
            status["conditions"] = kept + [c for c in sent_conditions if c.get("type") not in APPROVAL_TYPES]
            if (old.get("status") or {}).get("certificate"):
                status["certificate"] = old["status"]["certificate"]
        if not status.get("conditions"):
            status.pop("conditions", None)
        new["status"] = status
        new["spec"] = copy.deepcopy(old.get("spec") or {})

    def validate(self, obj: Obj, old: Obj | None) -> list[dict[str, str]]:
        errs: Errs = []
        spec: Obj = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
        if old is None:
            validate_spec(spec, errs)
        validate_status(obj["status"] if isinstance(obj.get("status"), dict) else {}, errs)
        return errs


def _decoded(value: Any) -> bytes | None:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return None


def validate_spec(spec: Obj, errs: Errs) -> None:
    request = _decoded(spec.get("request")) if spec.get("request") else None
    if not spec.get("request"):
        errs.append(required("spec.request"))
    elif request is None:
        errs.append(invalid("spec.request", "<bytes>", "must be base64"))
    else:
        try:
            parse_request(request)
        except ValueError as exc:
            errs.append(invalid("spec.request", "<bytes>", f"{exc}"))
    signer = spec.get("signerName")
    if not signer:
        errs.append(required("spec.signerName"))
    elif not isinstance(signer, str) or "/" not in signer or signer == LEGACY_UNKNOWN:
        errs.append(invalid("spec.signerName", signer, "must be a fully qualified domain and path of the form 'example.com/signer-name'"))  # fmt: skip
    else:
        domain = signer.partition("/")[0]
        problems = is_qualified_name(domain)
        if problems:
            errs.append(invalid("spec.signerName", signer, "; ".join(problems)))
    seconds = spec.get("expirationSeconds")
    if seconds is not None and (
        not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < MIN_EXPIRATION_SECONDS
    ):
        errs.append(invalid("spec.expirationSeconds", seconds, f"may not specify a duration less than {MIN_EXPIRATION_SECONDS} seconds (10 minutes)"))  # fmt: skip
    usages = spec.get("usages")
    if not isinstance(usages, list) or not usages:
        errs.append(required("spec.usages"))
        return
    seen: set[str] = set()
    for i, usage in enumerate(usages):
        if usage not in KNOWN_USAGES:
            errs.append(not_supported(f"spec.usages[{i}]", usage, list(KNOWN_USAGES)))
        elif usage in seen:
            errs.append(duplicate(f"spec.usages[{i}]", usage))
        seen.add(str(usage))


def validate_status(status: Obj, errs: Errs) -> None:
    types: set[str] = set()
    for i, cond in enumerate(status.get("conditions") or []):
        path = f"status.conditions[{i}]"
        if not isinstance(cond, dict) or not cond.get("type"):
            errs.append(required(f"{path}.type"))
            continue
        kind = cond["type"]
        if kind in APPROVAL_TYPES and cond.get("status", "True") != "True":
            errs.append(not_supported(f"{path}.status", cond.get("status"), ["True"]))
        if kind in types and kind in APPROVAL_TYPES:
            errs.append(duplicate(f"{path}.type", kind))
        types.add(kind)
    if {APPROVED, DENIED} <= types:
        errs.append(forbidden("status.conditions", "Approved and Denied conditions are mutually exclusive"))
    certificate = status.get("certificate")
    if certificate:
        pem = _decoded(certificate)
        try:
            if pem is None or not x509.load_pem_x509_certificates(pem):
                raise ValueError("not PEM")
        except ValueError:
            errs.append(invalid("status.certificate", "<certificate data>", "must contain at least one CERTIFICATE PEM block"))  # fmt: skip
        if DENIED in types or APPROVED not in types:
            errs.append(forbidden("status.certificate", "may only be set when an Approved condition exists"))
