"""CertificateSigningRequests against a real apiserver and controller-manager: the requester is recorded, node
client requests from bootstrap tokens and the node's own renewals are approved and signed by the cluster CA for
the lifetime asked, others wait for `kubectl certificate approve|deny` (the real kubectl), and the rules on who
may approve, sign or ask for what hold."""

from __future__ import annotations

import base64
import datetime as dt
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apimachinery import bootstraptoken as bt
from tests.harness import ApiServer, wait_until
from tests.integration.kubectl.kube import Kubectl
from tests.kube import write_kubeconfig

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
SECRETS = "/api/v1/namespaces/kube-system/secrets"
CLIENT_USAGES = ["digital signature", "client auth"]


def csr_pem(
    cn: str, orgs: tuple[str, ...] = (), dns: tuple[str, ...] = ()
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([*names, x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), key


def csr_body(
    name: str, pem: bytes, signer: str, usages: list[str], seconds: int | None = None, **extra: Any
) -> dict:
    spec: dict[str, Any] = {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": usages}
    if seconds is not None:
        spec["expirationSeconds"] = seconds
    spec.update(extra)
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name}, "spec": spec}  # fmt: skip


def issued(client: httpx.Client, name: str, timeout: float = 20) -> x509.Certificate:
    found: dict[str, Any] = {}

    def ready() -> bool:
        found.update(client.get(f"{CSRS}/{name}").json())
        return bool((found.get("status") or {}).get("certificate"))

    wait_until(ready, timeout, what=f"certificate of {name}")
    return x509.load_pem_x509_certificate(base64.b64decode(found["status"]["certificate"]))


@pytest.fixture(scope="module")
def token(admin: httpx.Client) -> Iterator[bt.Token]:
    """A live bootstrap token in kubeadm's default-node-token group."""
    tok = bt.Token.generate()
    body = bt.token_secret(tok, ttl=3600, now=dt.datetime.now(dt.UTC))
    assert admin.post(SECRETS, json=body).status_code == 201
    yield tok
    admin.delete(f"{SECRETS}/{bt.secret_name(tok.id)}")


def bearer(apiserver: ApiServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=apiserver.url,
        verify=apiserver.ca_file,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_node_client_csr_from_a_bootstrap_token_is_approved_and_signed_then_renewed_by_the_node(
    apiserver: ApiServer, admin: httpx.Client, signer: Path, token: bt.Token
) -> None:
    node = "join-" + uuid.uuid4().hex[:6]
    pem, key = csr_pem(f"system:node:{node}", ("system:nodes",))
    name = "node-csr-" + uuid.uuid4().hex[:8]
    with bearer(apiserver, str(token)) as boot:
        r = boot.post(CSRS, json=csr_body(name, pem, "kubernetes.io/kube-apiserver-client-kubelet", CLIENT_USAGES,
                                          1200, username="someone-else", groups=["system:masters"]))  # fmt: skip
        assert r.status_code == 201, r.text
        spec = r.json()["spec"]
        # The requester is who sent it, whatever the body claimed.
        assert spec["username"] == f"system:bootstrap:{token.id}"
        assert "system:masters" not in spec["groups"]
        assert set(spec["groups"]) >= {"system:bootstrappers", bt.DEFAULT_EXTRA_GROUP, "system:authenticated"}
        cert = issued(boot, name)
    conditions = admin.get(f"{CSRS}/{name}").json()["status"]["conditions"]
    assert [(c["type"], c["reason"]) for c in conditions] == [("Approved", "AutoApproved")]
    assert cert.subject.rfc4514_string() == f"CN=system:node:{node},O=system:nodes"
    lifetime = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=1100) < lifetime <= dt.timedelta(seconds=1200), lifetime
    ca = x509.load_pem_x509_certificate(Path(apiserver.ca_file).read_bytes())
    cert.verify_directly_issued_by(ca)
    assert cert.public_key() == key.public_key()

    # The node, with that certificate, asks for its next one: approved as a self renewal.
    cert_file, key_file = apiserver.pki.dir / f"{node}.crt", apiserver.pki.dir / f"{node}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    key_file.chmod(0o600)
    renew_pem, _ = csr_pem(f"system:node:{node}", ("system:nodes",))
    tls = ssl.create_default_context(cafile=apiserver.ca_file)
    tls.load_cert_chain(str(cert_file), str(key_file))
    with httpx.Client(base_url=apiserver.url, verify=tls) as me:
        whoami = me.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={
            "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).json()  # fmt: skip
        assert whoami["kind"] == "SelfSubjectReview", whoami["message"]
        assert whoami["status"]["userInfo"]["username"] == f"system:node:{node}"
        r = me.post(CSRS, json=csr_body(name + "-renew", renew_pem, "kubernetes.io/kube-apiserver-client-kubelet",
                                        CLIENT_USAGES))  # fmt: skip
        assert r.status_code == 201, r.text
        issued(me, name + "-renew")
    renewal = admin.get(f"{CSRS}/{name}-renew").json()["status"]["conditions"][0]
    assert "self kubelet client" in renewal["message"]


def test_a_bootstrap_token_may_not_get_another_subject_approved_nor_approve_itself(
    apiserver: ApiServer, admin: httpx.Client, signer: Path, token: bt.Token
) -> None:
    pem, _ = csr_pem("not-a-node", ("system:nodes",))
    name = "other-" + uuid.uuid4().hex[:8]
    with bearer(apiserver, str(token)) as boot:
        r = boot.post(
            CSRS, json=csr_body(name, pem, "kubernetes.io/kube-apiserver-client-kubelet", CLIENT_USAGES)
        )
        assert r.status_code == 201, r.text
        csr = r.json()
        csr["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "Me"}]}
        assert boot.put(f"{CSRS}/{name}/approval", json=csr).status_code == 403
    # The controllers have seen it (a later request is signed first) and left it pending.
    later_pem, _ = csr_pem("system:node:later", ("system:nodes",))
    later = "later-" + uuid.uuid4().hex[:8]
    with bearer(apiserver, str(token)) as boot:
        assert boot.post(CSRS, json=csr_body(later, later_pem, "kubernetes.io/kube-apiserver-client-kubelet",
                                             CLIENT_USAGES)).status_code == 201  # fmt: skip
        issued(boot, later)
    assert "status" not in admin.get(f"{CSRS}/{name}").json() or not admin.get(f"{CSRS}/{name}").json()[
        "status"
    ].get("conditions")


def test_status_cannot_approve_and_masters_cannot_be_asked_for(admin: httpx.Client, signer: Path) -> None:
    pem, _ = csr_pem("alice", ("system:masters",))
    r = admin.post(CSRS, json=csr_body("m-" + uuid.uuid4().hex[:6], pem, "kubernetes.io/kube-apiserver-client",
                                       CLIENT_USAGES))  # fmt: skip
    assert r.status_code == 403 and "system:masters" in r.json()["message"]
    bad = admin.post(
        CSRS, json=csr_body("b-" + uuid.uuid4().hex[:6], b"nonsense", "example.com/x", ["bogus"], 60)
    )
    assert bad.status_code == 422
    fields = {c["field"] for c in bad.json()["details"]["causes"]}
    assert fields == {"spec.request", "spec.expirationSeconds", "spec.usages[0]"}, bad.json()
    pem, _ = csr_pem("bob")
    name = "s-" + uuid.uuid4().hex[:6]
    csr = admin.post(CSRS, json=csr_body(name, pem, "example.com/custom", CLIENT_USAGES)).json()
    csr["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "ViaStatus"}]}
    after = admin.put(f"{CSRS}/{name}/status", json=csr)
    assert after.status_code == 200
    assert not after.json().get("status", {}).get("conditions")


@pytest.mark.kubectl
def test_kubectl_certificate_approve_and_deny(
    apiserver: ApiServer, admin: httpx.Client, signer: Path, tmp_path: Path
) -> None:
    kubectl = Kubectl(
        kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", apiserver), cache_dir=tmp_path / "cache"
    )
    serving = "serving-" + uuid.uuid4().hex[:6]
    denied = "deny-" + uuid.uuid4().hex[:6]
    pem, _ = csr_pem("system:node:n1", ("system:nodes",), dns=("n1",))
    assert admin.post(CSRS, json=csr_body(serving, pem, "kubernetes.io/kubelet-serving",
                                          ["digital signature", "server auth"], 3600)).status_code == 201  # fmt: skip
    pem2, _ = csr_pem("carol")
    assert admin.post(CSRS, json=csr_body(denied, pem2, "kubernetes.io/kube-apiserver-client",
                                          CLIENT_USAGES)).status_code == 201  # fmt: skip
    table = kubectl("get", "csr", serving, denied)
    header, *rows = table.splitlines()
    assert header.split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    assert rows[0].split()[2:] == ["kubernetes.io/kubelet-serving", "kubernetes-admin", "60m", "Pending"]
    assert kubectl("certificate", "approve", serving).strip() == (
        f"certificatesigningrequest.certificates.k8s.io/{serving} approved"
    )
    assert kubectl("certificate", "deny", denied).strip() == (
        f"certificatesigningrequest.certificates.k8s.io/{denied} denied"
    )
    cert = issued(admin, serving)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["n1"]
    wait_until(
        lambda: kubectl("get", "csr", serving).split()[-1] == "Approved,Issued", 10, what="Issued column"
    )
    assert kubectl("get", "csr", denied).split()[-1] == "Denied"
    assert not admin.get(f"{CSRS}/{denied}").json()["status"].get("certificate")
