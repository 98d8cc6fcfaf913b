"""Authentication: who sent the request (k8s.io/apiserver `pkg/authentication`).

    Credentials           what a request carried: a verified client certificate's subject, a bearer token
    X509                  a client certificate signed by --client-ca-file: CN is the user, each O a group
    TokenFile             --token-auth-file, a CSV of token,user,uid[,"group1,group2"] (compared in constant time)
    ServiceAccountTokens  JWTs signed by this cluster (tokens.py), for a ServiceAccount (and pod) that still exist
    Chain                 the first authenticator that knows the credentials decides

Every authenticated user also gets the group system:authenticated. A request with no credentials is anonymous,
which the filter allows only on the health and version paths (auth/filter.py); a request whose credentials
nobody accepts is 401, whatever its path.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from apimachinery.user import AUTHENTICATED, UserInfo
from apiserver.auth.tokens import Claims, InvalidToken, TokenIssuer

log = logging.getLogger("apiserver.auth")

Obj = dict[str, Any]


@dataclass(frozen=True)
class Credentials:
    cert_subject: tuple[str, tuple[str, ...]] | None = None
    bearer_token: str | None = None

    @property
    def empty(self) -> bool:
        return self.cert_subject is None and not self.bearer_token


class Authenticator(Protocol):
    async def authenticate(self, creds: Credentials) -> UserInfo | None:
        """The user these credentials prove, or None when they are not this authenticator's kind (or wrong)."""


def with_authenticated(user: UserInfo) -> UserInfo:
    if AUTHENTICATED in user.groups:
        return user
    return UserInfo(user.name, user.uid, (*user.groups, AUTHENTICATED), user.extra)


class X509:
    """The TLS layer has verified the certificate against the client CA; only its subject is read here."""

    async def authenticate(self, creds: Credentials) -> UserInfo | None:
        if creds.cert_subject is None:
            return None
        name, groups = creds.cert_subject
        if not name:
            return None
        return UserInfo(name, groups=groups)


class TokenFile:
    def __init__(self, entries: dict[str, UserInfo]) -> None:
        # Keyed by the token's digest: the lookup then reveals nothing about the token through timing, and the
        # final comparison is constant-time.
        self._by_digest = {_digest(token): (token, user) for token, user in entries.items()}

    @classmethod
    def read(cls, path: str | Path) -> TokenFile:
        entries: dict[str, UserInfo] = {}
        with open(path, newline="") as f:
            for number, row in enumerate(csv.reader(f), 1):
                if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                    continue
                if len(row) < 3:
                    raise ValueError(f"{path}:{number}: want token,user,uid[,groups]")
                token, name, uid = (c.strip() for c in row[:3])
                groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
                entries[token] = UserInfo(name, uid=uid, groups=groups)
        return cls(entries)

    async def authenticate(self, creds: Credentials) -> UserInfo | None:
        if not creds.bearer_token:
            return None
        found = self._by_digest.get(_digest(creds.bearer_token))
        if found is None or not hmac.compare_digest(found[0].encode(), creds.bearer_token.encode()):
            return None
        return found[1]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class ObjectLookup(Protocol):
    async def service_account(self, namespace: str, name: str) -> Obj | None: ...

    async def pod(self, namespace: str, name: str) -> Obj | None: ...


class ServiceAccountTokens:
    def __init__(self, issuer: TokenIssuer, lookup: ObjectLookup) -> None:
        self.issuer = issuer
        self.lookup = lookup

    async def authenticate(self, creds: Credentials) -> UserInfo | None:
        token = creds.bearer_token
        if not token or token.count(".") != 2:
            return None
        try:
            claims = self.issuer.verify(token)
            await self.check_alive(claims)
        except InvalidToken as exc:
            log.info("service account token refused: %s", exc)
            return None
        return claims.user()

    async def check_alive(self, claims: Claims) -> None:
        """The ServiceAccount (and the pod a bound token names) still exist with the uids in the token."""
        sa = await self.lookup.service_account(claims.namespace, claims.name)
        if sa is None or (claims.uid and sa["metadata"].get("uid") != claims.uid):
            raise InvalidToken(f"service account {claims.namespace}/{claims.name} no longer exists")
        if claims.pod_name:
            pod = await self.lookup.pod(claims.namespace, claims.pod_name)
            if pod is None or pod["metadata"].get("uid") != claims.pod_uid:
                raise InvalidToken(f"pod {claims.namespace}/{claims.pod_name} no longer exists")
            if pod["metadata"].get("deletionTimestamp"):
                raise InvalidToken(f"pod {claims.namespace}/{claims.pod_name} is being deleted")


class Chain:
    def __init__(self, authenticators: list[Authenticator]) -> None:
        self.authenticators = authenticators

    async def authenticate(self, creds: Credentials) -> UserInfo | None:
        for authenticator in self.authenticators:
            user = await authenticator.authenticate(creds)
            if user is not None:
                return with_authenticated(user)
        return None
