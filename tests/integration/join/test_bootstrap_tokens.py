"""Bootstrap tokens against a real apiserver and controller-manager: `kctl token create|list|delete`, the token
authenticator (and its refusals), the anonymously readable, signed cluster-info, token discovery with its CA pin
(cli/discovery.py), the TLS bootstrap of a node client certificate, and the token cleaner."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from apimachinery import bootstraptoken as bt
from apimachinery.client import Client
from apimachinery.kubeconfig import ClientConfig
from apimachinery.tlsbootstrap import request_client_certificate
from cli.discovery import DiscoveryError, discover
from tests.harness import ApiServer, wait_until
from tests.integration.cli.helpers import kctl_subprocess

SECRETS = "/api/v1/namespaces/kube-system/secrets"
CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
JOIN = re.compile(
    r"kctl join (https://\S+) --token (\S+) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})"
)


def anonymous(apiserver: ApiServer) -> httpx.Client:
    return httpx.Client(base_url=apiserver.url, verify=apiserver.ca_file, timeout=10)


def whoami(apiserver: ApiServer, token: str) -> httpx.Response:
    with httpx.Client(base_url=apiserver.url, verify=apiserver.ca_file, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
        return c.post(WHOAMI, json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})


def signed_for(apiserver: ApiServer, token_id: str) -> dict[str, Any]:
    with anonymous(apiserver) as anon:
        data: dict[str, Any] = anon.get(CLUSTER_INFO).json()["data"]
    return data if f"jws-kubeconfig-{token_id}" in data else {}


def test_token_create_join_discovery_bootstrap_and_delete(
    apiserver: ApiServer, signer: Path, tmp_path: Path
) -> None:
    kubeconfig = apiserver.admin_kubeconfig
    made = kctl_subprocess("token", "create", "--ttl", "1h", "--description", "e2e", kubeconfig=kubeconfig)
    assert made.code == 0, made.err
    m = JOIN.fullmatch(made.out.strip())
    assert m, made.out
    url, token_text, ca_hash = m.groups()
    token = bt.Token.parse(token_text)
    assert url == apiserver.url
    assert ca_hash == bt.ca_cert_hash(Path(apiserver.ca_file).read_bytes())

    listed = kctl_subprocess("token", "list", kubeconfig=kubeconfig)
    assert listed.code == 0, listed.err
    header, *rows = listed.out.splitlines()
    assert header.split()[:4] == ["TOKEN", "TTL", "EXPIRES", "USAGES"]
    row = next(r for r in rows if r.startswith(token_text))
    assert row.split()[1] in ("59m", "60m") and "authentication,signing" in row and "e2e" in row

    # cluster-info: anonymous may read it (and nothing else), signed with the token by the controller-manager.
    data = wait_until(lambda: signed_for(apiserver, token.id), 15, what="cluster-info signature")
    assert bt.signature_valid(data[f"jws-kubeconfig-{token.id}"], data["kubeconfig"], token)
    with anonymous(apiserver) as anon:
        assert anon.get("/api/v1/namespaces/kube-public/configmaps").status_code == 401
        assert anon.get("/api/v1/namespaces/kube-system/configmaps/cluster-info").status_code == 401
        assert anon.delete(CLUSTER_INFO).status_code == 401

    # The token authenticates as system:bootstrap:<id>; a wrong secret does not.
    me = whoami(apiserver, token_text)
    assert me.status_code == 201, me.text
    user = me.json()["status"]["userInfo"]
    assert user["username"] == f"system:bootstrap:{token.id}"
    assert set(user["groups"]) == {"system:bootstrappers", bt.DEFAULT_EXTRA_GROUP, "system:authenticated"}
    assert whoami(apiserver, f"{token.id}.{'0' * 16}").status_code == 401

    # Discovery: the right token and hash find the cluster; a wrong secret, id or hash is refused in one line.
    cluster = discover(url, token, ca_hash)
    assert cluster.ca_pem == Path(apiserver.ca_file).read_bytes()
    for bad_token, bad_hash, words in [
        (bt.Token(token.id, "0" * 16), ca_hash, "wrong token secret"),
        (bt.Token("zzzzzz", token.secret), ca_hash, "not known to the cluster"),
        (token, "sha256:" + "0" * 64, "does not match --discovery-token-ca-cert-hash"),
    ]:
        with pytest.raises(DiscoveryError, match=words) as refused:
            discover(url, bad_token, bad_hash)
        assert "\n" not in str(refused.value)

    # TLS bootstrap with the token: a certificate for system:node:<name>, which then authenticates as the node.
    async def bootstrap() -> tuple[bytes, bytes]:
        config = ClientConfig(server=url, ca_data=cluster.ca_pem.decode(), token=token_text)
        async with Client(config) as client:
            return await request_client_certificate(client, "joined-1", timeout=20, expiration_seconds=3600)

    cert, key = asyncio.run(bootstrap())
    node_config = ClientConfig(
        server=url, ca_data=cluster.ca_pem.decode(), cert_data=cert.decode(), key_data=key.decode()
    )
    with httpx.Client(base_url=url, verify=node_config.ssl_context(), timeout=10) as node:
        who = node.post(WHOAMI, json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert who.json()["status"]["userInfo"]["username"] == "system:node:joined-1"

    gone = kctl_subprocess("token", "delete", token_text, kubeconfig=kubeconfig)
    assert gone.code == 0 and gone.out.strip() == f'bootstrap token "{token.id}" deleted', gone.err
    wait_until(lambda: not signed_for(apiserver, token.id), 15, what="signature removed")
    assert whoami(apiserver, token_text).status_code == 401
    bad = kctl_subprocess("token", "delete", "NOPE", kubeconfig=kubeconfig)
    assert bad.code == 1 and len(bad.err.strip().splitlines()) == 1


def test_expired_tokens_are_refused_and_cleaned_up(
    apiserver: ApiServer, admin: httpx.Client, signer: Path
) -> None:
    token = bt.Token.generate()
    body = bt.token_secret(token, ttl=3, now=dt.datetime.now(dt.UTC))
    assert admin.post(SECRETS, json=body).status_code == 201
    name = bt.secret_name(token.id)
    assert whoami(apiserver, str(token)).status_code == 201
    wait_until(lambda: admin.get(f"{SECRETS}/{name}").status_code == 404, 15, what="the cleaner deleting it")
    assert whoami(apiserver, str(token)).status_code == 401
    # A token not marked for authentication never authenticates.
    quiet = bt.Token.generate()
    body = bt.token_secret(quiet, ttl=600, now=dt.datetime.now(dt.UTC))
    body["stringData"]["usage-bootstrap-authentication"] = "false"
    assert admin.post(SECRETS, json=body).status_code == 201
    try:
        assert whoami(apiserver, str(quiet)).status_code == 401
    finally:
        admin.delete(f"{SECRETS}/{bt.secret_name(quiet.id)}")
