"""Bootstrap tokens, as kubeadm stores them and kube-apiserver and kube-controller-manager read them
(k8s.io/cluster-bootstrap `token/api`, `token/jws`).

    <id>.<secret>                      6 and 16 characters of [a-z0-9]; the id is public, the secret is not
    Secret kube-system/bootstrap-token-<id>, type bootstrap.kubernetes.io/token, data:
        token-id, token-secret, expiration (RFC 3339), description,
        usage-bootstrap-authentication "true"   the apiserver accepts `Bearer <id>.<secret>` as
                                                system:bootstrap:<id> in system:bootstrappers (+ auth-extra-groups)
        usage-bootstrap-signing "true"          the controller-manager signs the cluster-info ConfigMap with it
        auth-extra-groups                       comma list of system:bootstrappers:<...> groups
    ConfigMap kube-public/cluster-info: `kubeconfig` (the cluster's address and CA) and, per signing token,
        `jws-kubeconfig-<id>`: a detached JWS (HS256, key = the token secret, kid = the token id) of that kubeconfig

A joining machine knows the token and the hash of the CA's public key (`sha256:<hex of the DER
SubjectPublicKeyInfo>`): the JWS proves the kubeconfig came from someone who knows the token, the hash pins the CA.
The JWS itself is made and checked by PyJWT.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import re
import secrets
import string
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from apimachinery.timefmt import format_time, parse_time

Obj = dict[str, Any]

NAMESPACE = "kube-system"
SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_PREFIX = "bootstrap-token-"
USER_PREFIX = "system:bootstrap:"
GROUP = "system:bootstrappers"
CLUSTER_INFO_NAMESPACE = "kube-public"
CLUSTER_INFO = "cluster-info"
JWS_PREFIX = "jws-kubeconfig-"
USAGE_AUTHENTICATION = "usage-bootstrap-authentication"
USAGE_SIGNING = "usage-bootstrap-signing"
EXTRA_GROUPS = "auth-extra-groups"
DEFAULT_EXTRA_GROUP = "system:bootstrappers:kubeadm:default-node-token"
TOKEN_RE = re.compile(r"([a-z0-9]{6})\.([a-z0-9]{16})")
ID_RE = re.compile(r"[a-z0-9]{6}")
EXTRA_GROUP_RE = re.compile(r"system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]")
CA_HASH_RE = re.compile(r"sha256:([0-9a-f]{64})")
_ALPHABET = string.ascii_lowercase + string.digits


class InvalidToken(ValueError):
    """Not a bootstrap token (`<6 of [a-z0-9]>.<16 of [a-z0-9]>`)."""


@dataclass(frozen=True)
class Token:
    id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.id}.{self.secret}"

    @classmethod
    def parse(cls, text: str) -> Token:
        m = TOKEN_RE.fullmatch(text.strip())
        if m is None:
            raise InvalidToken(
                "a bootstrap token looks like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16})"
            )
        return cls(m.group(1), m.group(2))

    @classmethod
    def generate(cls) -> Token:
        pick = lambda n: "".join(secrets.choice(_ALPHABET) for _ in range(n))  # noqa: E731
        return cls(pick(6), pick(16))


def secret_name(token_id: str) -> str:
    return SECRET_PREFIX + token_id


def token_secret(
    token: Token,
    *,
    ttl: float | None,
    now: dt.datetime,
    description: str = "",
    extra_groups: tuple[str, ...] = (DEFAULT_EXTRA_GROUP,),
) -> Obj:
    """The Secret that holds `token` (kubeadm's BootstrapToken.ToSecret); ttl None or 0: it never expires."""
    data = {
        "token-id": token.id,
        "token-secret": token.secret,
        USAGE_AUTHENTICATION: "true",
        USAGE_SIGNING: "true",
    }
    if ttl:
        data["expiration"] = format_time(now + dt.timedelta(seconds=ttl))
    if description:
        data["description"] = description
    for group in extra_groups:
        if EXTRA_GROUP_RE.fullmatch(group) is None:
            raise ValueError(f"{group!r} is not a bootstrap group (system:bootstrappers:<...>)")
    if extra_groups:
        data[EXTRA_GROUPS] = ",".join(extra_groups)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {"name": secret_name(token.id), "namespace": NAMESPACE},
        "stringData": data,
    }


def secret_data(secret: Obj) -> dict[str, str]:
    """The decoded data of a token Secret; undecodable values are left out."""
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            continue
    return out


def expiration(data: dict[str, str]) -> dt.datetime | None:
    """When the token expires, None if never; an unreadable expiration counts as expired (the epoch)."""
    text = data.get("expiration")
    if not text:
        return None
    try:
        return parse_time(text, naive_utc=True)
    except ValueError:
        return dt.datetime.fromtimestamp(0, dt.UTC)


def expired(data: dict[str, str], now: dt.datetime) -> bool:
    when = expiration(data)
    return when is not None and when <= now


@dataclass(frozen=True)
class TokenSecret:
    """A token Secret read for a use: its token and its data, None when it is not a valid, live token Secret."""

    token: Token
    data: dict[str, str]

    @classmethod
    def read(cls, secret: Obj | None, now: dt.datetime) -> TokenSecret | None:
        if not secret or secret.get("type") != SECRET_TYPE:
            return None
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            return None
        data = secret_data(secret)
        token_id, token_secret_value = data.get("token-id", ""), data.get("token-secret", "")
        name = str((secret.get("metadata") or {}).get("name") or "")
        if name != secret_name(token_id) or TOKEN_RE.fullmatch(f"{token_id}.{token_secret_value}") is None:
            return None
        if expired(data, now):
            return None
        return cls(Token(token_id, token_secret_value), data)

    def usage(self, name: str) -> bool:
        return self.data.get(name) == "true"

    def extra_groups(self) -> tuple[str, ...]:
        groups = (g.strip() for g in self.data.get(EXTRA_GROUPS, "").split(","))
        return tuple(g for g in groups if EXTRA_GROUP_RE.fullmatch(g))

    def matches(self, token: Token) -> bool:
        return token.id == self.token.id and hmac.compare_digest(token.secret, self.token.secret)


# ---- signing the cluster-info ConfigMap ------------------------------------------------------------------------


def detached_signature(content: str, token: Token) -> str:
    """The detached JWS (`<header>..<signature>`) of `content`, HS256 with the token secret, kid the token id."""
    with _short_key_allowed():
        full = jwt.api_jws.encode(
            content.encode(), token.secret, algorithm="HS256", headers={"kid": token.id, "typ": None}
        )
    header, _, rest = full.partition(".")
    return f"{header}..{rest.partition('.')[2]}"


def signature_valid(signature: str, content: str, token: Token) -> bool:
    """Whether `signature` is the detached JWS of `content` by `token` (checked by PyJWT, then against ours)."""
    header, sep, sig = signature.partition("..")
    if not sep or not header or not sig:
        return False
    payload = base64.urlsafe_b64encode(content.encode()).rstrip(b"=").decode()
    try:
        with _short_key_allowed():
            jwt.api_jws.decode_complete(f"{header}.{payload}.{sig}", token.secret, algorithms=["HS256"])
        kid = jwt.get_unverified_header(f"{header}.{payload}.{sig}").get("kid")
    except jwt.InvalidTokenError:
        return False
    return kid == token.id


@contextlib.contextmanager
def _short_key_allowed() -> Iterator[None]:
    """The protocol fixes the key: the 16-character token secret, shorter than PyJWT recommends for HS256."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)
        yield


def ca_cert_hash(ca_pem: bytes) -> str:
    """`sha256:<hex>` of the CA certificate's SubjectPublicKeyInfo, as kubeadm pins a CA."""
    cert = x509.load_pem_x509_certificate(ca_pem)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()
