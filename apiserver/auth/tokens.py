"""ServiceAccount tokens: JWTs the apiserver signs (TokenRequest) and checks (authentication, TokenReview).

A token is an ES256 JWT (PyJWT) with Kubernetes' claims: `iss`, `sub` = system:serviceaccount:<ns>:<name>,
`aud` (a list), `exp`/`iat`/`nbf`, `jti`, and a private `kubernetes.io` claim naming the namespace, the
ServiceAccount (name, uid) and, for a token bound to a pod, the pod (name, uid) and its node. A token is good
while it is unexpired, has one of the accepted audiences, and what it names still exists with the same uid
(deleting the pod or the ServiceAccount revokes it; the caller checks that part with `Claims`).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apimachinery import user as users

ALGORITHM = "ES256"
DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# The kubelet asks for 3607 s; expirationSeconds below 10 minutes is refused, as in Kubernetes.
MIN_EXPIRATION = 600
DEFAULT_EXPIRATION = 3600
LEEWAY = 60  # seconds of clock skew tolerated on exp/nbf


class InvalidToken(Exception):
    """The token is not one of ours, is expired, or is meant for someone else."""


@dataclass(frozen=True)
class Claims:
    namespace: str
    name: str
    uid: str
    audiences: tuple[str, ...]
    expires: int
    issued: int
    token_id: str
    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    node_uid: str = ""
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)

    def user(self) -> users.UserInfo:
        extra: dict[str, tuple[str, ...]] = {
            "authentication.kubernetes.io/credential-id": (f"JTI={self.token_id}",)
        }
        if self.pod_name:
            extra["authentication.kubernetes.io/pod-name"] = (self.pod_name,)
            extra["authentication.kubernetes.io/pod-uid"] = (self.pod_uid,)
        if self.node_name:
            extra["authentication.kubernetes.io/node-name"] = (self.node_name,)
            if self.node_uid:
                extra["authentication.kubernetes.io/node-uid"] = (self.node_uid,)
        return users.UserInfo(
            users.service_account_name(self.namespace, self.name),
            uid=self.uid,
            groups=users.service_account_groups(self.namespace),
            extra=extra,
        )


def load_private_key(path: str | Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: the service account signing key must be an ECDSA P-256 key")
    return key


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.S)


def load_public_keys(path: str | Path) -> list[ec.EllipticCurvePublicKey]:
    """The public keys in a PEM file (public keys, or a private key whose public half is used)."""
    keys: list[ec.EllipticCurvePublicKey] = []
    for match in _PEM_BLOCK.finditer(Path(path).read_bytes()):
        pem = match.group(0)
        if b"PRIVATE KEY" in match.group(1):
            private = serialization.load_pem_private_key(pem, password=None)
            if isinstance(private, ec.EllipticCurvePrivateKey):
                keys.append(private.public_key())
        else:
            public = serialization.load_pem_public_key(pem)
            if isinstance(public, ec.EllipticCurvePublicKey):
                keys.append(public)
    if not keys:
        raise ValueError(f"{path}: no ECDSA key found")
    return keys


class TokenIssuer:
    """Signs and verifies ServiceAccount tokens for one issuer and a set of accepted (API) audiences."""

    def __init__(
        self,
        signing_key: ec.EllipticCurvePrivateKey | None,
        verify_keys: list[ec.EllipticCurvePublicKey],
        issuer: str = DEFAULT_ISSUER,
        api_audiences: tuple[str, ...] = (),
        max_expiration: int = 48 * 3600,
    ) -> None:
        self.signing_key = signing_key
        self.verify_keys = verify_keys or ([signing_key.public_key()] if signing_key else [])
        self.issuer = issuer
        self.api_audiences = api_audiences or (issuer,)
        self.max_expiration = max_expiration

    def sign(
        self,
        *,
        namespace: str,
        name: str,
        uid: str,
        audiences: tuple[str, ...],
        expiration: int,
        pod: tuple[str, str] | None = None,
        node: tuple[str, str] | None = None,
        now: float | None = None,
    ) -> tuple[str, int]:
        """A token and its expiry (epoch seconds)."""
        if self.signing_key is None:
            raise InvalidToken("this apiserver has no --service-account-signing-key-file")
        issued = int(now if now is not None else time.time())
        expires = issued + expiration
        private: dict[str, object] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}
        if pod:
            private["pod"] = {"name": pod[0], "uid": pod[1]}
        if node:
            private["node"] = {"name": node[0], "uid": node[1]}
        claims = {
            "iss": self.issuer,
            "sub": users.service_account_name(namespace, name),
            "aud": list(audiences),
            "exp": expires,
            "iat": issued,
            "nbf": issued,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": private,
        }
        return jwt.encode(claims, self.signing_key, algorithm=ALGORITHM), expires

    def verify(self, token: str, audiences: tuple[str, ...] | None = None) -> Claims:
        """The claims of a good token; InvalidToken otherwise. `audiences`: accepted ones (default: the API's)."""
        wanted = list(audiences or self.api_audiences)
        try:
            unverified = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if unverified.get("alg") != ALGORITHM:
            raise InvalidToken("unexpected signing algorithm")
        last: Exception | None = None
        for key in self.verify_keys:
            try:
                data = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=wanted,
                    issuer=self.issuer,
                    leeway=LEEWAY,
                    options={"require": ["exp", "iat", "sub", "aud", "iss"]},
                )
                return _claims(data)
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue  # another key may have signed it
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from None
        raise InvalidToken(str(last or "no key to verify with"))


def _claims(data: dict[str, object]) -> Claims:
    private = data.get("kubernetes.io")
    if not isinstance(private, dict):
        raise InvalidToken("not a Kubernetes service account token")
    sa = private.get("serviceaccount") or {}
    pod = private.get("pod") or {}
    node = private.get("node") or {}
    namespace = str(private.get("namespace") or "")
    name = str(sa.get("name") or "") if isinstance(sa, dict) else ""
    if not namespace or not name or data.get("sub") != users.service_account_name(namespace, name):
        raise InvalidToken("the token's subject and service account disagree")
    aud = data.get("aud")
    return Claims(
        namespace=namespace,
        name=name,
        uid=str(sa.get("uid") or ""),
        audiences=tuple(aud) if isinstance(aud, list) else (str(aud),),
        expires=int(data.get("exp") or 0),  # type: ignore[call-overload]
        issued=int(data.get("iat") or 0),  # type: ignore[call-overload]
        token_id=str(data.get("jti") or ""),
        pod_name=str(pod.get("name") or "") if isinstance(pod, dict) else "",
        pod_uid=str(pod.get("uid") or "") if isinstance(pod, dict) else "",
        node_name=str(node.get("name") or "") if isinstance(node, dict) else "",
        node_uid=str(node.get("uid") or "") if isinstance(node, dict) else "",
    )
