"""CertificateSigningRequests: NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION, as kubectl shows them."""

from __future__ import annotations

from datetime import datetime

from apimachinery.certificates import condition_state
from apimachinery.timefmt import human_duration
from apiserver.printers.common import Obj, Row, age, columns, name_of

CSR_COLUMNS = columns(
    """
    Name
    Age
    SignerName: The name of the signer that is requested to sign the certificate.
    Requestor: The user that created the request.
    RequestedDuration: The requested lifetime of the issued certificate.
    Condition: The conditions of the request: Approved, Denied, Pending, Failed and Issued.
"""
)


def csr_row(csr: Obj, now: datetime) -> Row:
    spec = csr.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    requested = (
        human_duration(seconds) if isinstance(seconds, int) and not isinstance(seconds, bool) else "<none>"
    )
    cells = [
        name_of(csr),
        age(csr, now),
        spec.get("signerName") or "<none>",
        spec.get("username") or "",
        requested,
        condition_state(csr),
    ]
    return cells, None
