"""Bootstrap tokens and CSR rules as pure functions: token parsing, the Secret kubeadm writes, the detached JWS
of cluster-info, the CA pin, which CSRs the approver may approve, and what /status and /approval may change."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apimachinery import bootstraptoken as bt
from apimachinery.pki import CertificateAuthority
from apiserver.certificates import CSRStrategy
from controller_manager.bootstrap_tokens import signatures
from controller_manager.certificates import approval_subresources

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["abcdef.0123456789abcdef\n", "ABCDEF.0123456789abcdef", "abcde.0123456789abcdef",
                                  "abcdef.0123456789abcde", "abcdef0123456789abcdef", ""])  # fmt: skip
def test_only_well_formed_tokens_parse(text: str) -> None:
    if text == "abcdef.0123456789abcdef\n":  # surrounding whitespace is trimmed, as from a file or a flag
        assert str(bt.Token.parse(text)) == "abcdef.0123456789abcdef"
        return
    with pytest.raises(bt.InvalidToken):
        bt.Token.parse(text)


def _stored(secret: dict) -> dict:
    """The Secret as the apiserver stores it: stringData merged into base64 data."""
    data = {k: base64.b64encode(v.encode()).decode() for k, v in secret.pop("stringData").items()}
    return {**secret, "data": data}


def test_token_secret_round_trip_and_expiry() -> None:
    token = bt.Token.generate()
    secret = _stored(bt.token_secret(token, ttl=60, now=NOW))
    assert secret["metadata"]["name"] == f"bootstrap-token-{token.id}" and secret["type"] == bt.SECRET_TYPE
    found = bt.TokenSecret.read(secret, NOW)
    assert found is not None and found.matches(token) and found.usage(bt.USAGE_AUTHENTICATION)
    assert found.extra_groups() == (bt.DEFAULT_EXTRA_GROUP,)
    assert not found.matches(bt.Token(token.id, "0" * 16))
    assert bt.TokenSecret.read(secret, NOW + dt.timedelta(seconds=60)) is None  # expired
    assert bt.TokenSecret.read({**secret, "type": "Opaque"}, NOW) is None
    with pytest.raises(ValueError):
        bt.token_secret(token, ttl=0, now=NOW, extra_groups=("system:masters",))


def test_cluster_info_signatures_verify_with_their_token_only() -> None:
    good, other = bt.Token.generate(), bt.Token.generate()
    expired = _stored(bt.token_secret(other, ttl=1, now=NOW - dt.timedelta(seconds=5)))
    wanted = signatures("kubeconfig-text", [_stored(bt.token_secret(good, ttl=None, now=NOW)), expired], NOW)
    assert list(wanted) == [f"jws-kubeconfig-{good.id}"]
    sig = wanted[f"jws-kubeconfig-{good.id}"]
    assert sig.count(".") == 2 and ".." in sig  # detached: no payload
    assert bt.signature_valid(sig, "kubeconfig-text", good)
    assert not bt.signature_valid(sig, "kubeconfig-text2", good)
    assert not bt.signature_valid(sig, "kubeconfig-text", other)


def test_ca_hash_is_of_the_public_key() -> None:
    ca = CertificateAuthority.create()
    spki = ca.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import hashlib

    assert bt.ca_cert_hash(ca.pem) == "sha256:" + hashlib.sha256(spki).hexdigest()
    assert bt.CA_HASH_RE.fullmatch(bt.ca_cert_hash(ca.pem))


def _csr(cn: str, orgs: tuple[str, ...], username: str, usages: list[str], dns: tuple[str, ...] = ()) -> dict:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([*names, x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    pem = b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return {"spec": {"request": base64.b64encode(pem).decode(), "username": username, "usages": usages,
                     "signerName": "kubernetes.io/kube-apiserver-client-kubelet"}}  # fmt: skip


CLIENT = ["digital signature", "client auth"]


def _serving(cn: str, username: str, dns: tuple[str, ...]) -> dict:
    csr = _csr(cn, ("system:nodes",), username, ["digital signature", "server auth"], dns=dns)
    csr["spec"]["signerName"] = "kubernetes.io/kubelet-serving"
    return csr


@pytest.mark.parametrize(
    ("csr", "wanted"),
    [
        (_csr("system:node:a", ("system:nodes",), "system:bootstrap:abcdef", CLIENT), ["nodeclient"]),
        (_csr("system:node:a", ("system:nodes",), "system:node:a", CLIENT), ["selfnodeclient", "nodeclient"]),
        (_csr("system:node:a", ("system:nodes", "x"), "system:node:a", CLIENT), []),
        (_csr("someone", ("system:nodes",), "system:bootstrap:abcdef", CLIENT), []),
        (_csr("system:node:a", ("system:nodes",), "u", ["digital signature", "server auth"]), []),
        (_csr("system:node:a", ("system:nodes",), "u", CLIENT, dns=("a",)), []),
        (_serving("system:node:a", "system:node:a", ("a",)), ["selfnodeserving"]),
        (_serving("system:node:a", "system:node:b", ("a",)), []),  # another node asks
        (_serving("system:node:a", "system:node:a", ("a", "kubernetes.default")), []),  # a name not its own
    ],
)
def test_which_csrs_may_be_auto_approved(csr: dict, wanted: list[str]) -> None:
    assert approval_subresources(csr) == wanted


def test_status_keeps_approval_and_approval_keeps_the_rest() -> None:
    old = {"spec": {"username": "u"}, "status": {"conditions": [{"type": "Approved", "status": "True"}]}}
    strategy = CSRStrategy()
    new = {"spec": {"username": "evil"}, "status": {"conditions": [{"type": "Failed", "status": "True"}],
                                                      "certificate": "Zm9v"}}  # fmt: skip
    strategy.prepare_for_subresource(new, old, "status")
    assert [c["type"] for c in new["status"]["conditions"]] == ["Approved", "Failed"]
    assert new["spec"] == {"username": "u"} and new["status"]["certificate"] == "Zm9v"
    new = {
        "spec": {},
        "status": {"conditions": [{"type": "Denied", "status": "True"}], "certificate": "Zm9v"},
    }
    strategy.prepare_for_subresource(new, old, "approval")
    assert new["status"] == {"conditions": [{"type": "Denied", "status": "True"}]}
