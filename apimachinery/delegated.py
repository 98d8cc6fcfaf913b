"""Delegated authentication and authorization: a server of the cluster (the kubelet's API, the components' secure
/metrics port) asks the apiserver who a caller is and what it may do, as upstream's webhook/delegating modes do.

    DelegatedAuth(client)             through the component's own API client (its identity needs `create` on
                                      tokenreviews and subjectaccessreviews: system:auth-delegator's rules)
      .authenticate(subject, token)   a verified client certificate's (CN, O...) -> that user; else a bearer token
                                      -> a TokenReview; None when neither names anyone
      .authorize(user, verb, ...)     a SubjectAccessReview on resource attributes or on a nonResourceURL path
    bearer_token(headers)             the token of an `Authorization: Bearer ...` header, or None
    VERBS                             HTTP method -> Kubernetes verb

Answers are cached as upstream caches them: tokens 2 minutes (a refused one 30 s, so a client retrying a bad token
does not flood the apiserver), decisions allowed 5 minutes, denied 30 s. Keys hold a token's hash, never the token.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from apimachinery.client import Client
from apimachinery.resources import must_resource
from apimachinery.user import UserInfo

TOKEN_REVIEWS = must_resource("authentication.k8s.io", "tokenreviews")
ACCESS_REVIEWS = must_resource("authorization.k8s.io", "subjectaccessreviews")
VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


class TTLCache:
    """A dict whose entries expire; cleared whole when full (a flood of distinct keys cannot grow it)."""

    def __init__(self, limit: int = 4096) -> None:
        self.entries: dict[Any, tuple[float, Any]] = {}
        self.limit = limit

    def get(self, key: Any) -> Any | None:
        hit = self.entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            self.entries.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = (time.monotonic() + ttl, value)


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


@dataclass(eq=False)
class DelegatedAuth:
    client: Client
    _: KW_ONLY
    authn_ttl: float = 120.0
    allowed_ttl: float = 300.0
    denied_ttl: float = 30.0
    _tokens: TTLCache = field(default_factory=TTLCache, init=False)
    _decisions: TTLCache = field(default_factory=TTLCache, init=False)

    async def authenticate(
        self, subject: tuple[str, tuple[str, ...]] | None, token: str | None
    ) -> UserInfo | None:
        """The caller: its verified client certificate when it sent one, else whom the apiserver says its token is.

        StatusError / ConnectionError when the apiserver cannot be asked."""
        if subject is not None and subject[0]:
            return UserInfo(subject[0], groups=subject[1])
        if not token:
            return None
        key = hashlib.sha256(token.encode()).digest()
        cached = self._tokens.get(key)
        if cached is not None:
            return cached or None
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        status = (await self.client.create(TOKEN_REVIEWS, review)).get("status") or {}
        user = UserInfo.from_json(status.get("user") or {}) if status.get("authenticated") else None
        self._tokens.put(key, user or False, self.authn_ttl if user else self.denied_ttl)
        return user

    async def authorize(
        self,
        user: UserInfo,
        verb: str,
        *,
        resource: Mapping[str, str] | None = None,
        path: str | None = None,
    ) -> tuple[bool, str]:
        """(allowed, reason) for `verb` on `resource` (resourceAttributes: resource, subresource, name, ...) or on
        the nonResourceURL `path`. StatusError / ConnectionError when the apiserver cannot be asked."""
        if (resource is None) == (path is None):
            raise ValueError("authorize needs exactly one of resource= and path=")
        what = tuple(sorted(resource.items())) if resource is not None else path
        key = (user.name, user.groups, verb, what)
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        spec: dict[str, Any] = {
            "user": user.name,
            "uid": user.uid,
            "groups": list(user.groups),
            "extra": {k: list(v) for k, v in user.extra.items()},
        }
        if resource is not None:
            spec["resourceAttributes"] = {"verb": verb, **resource}
            described = ", ".join(f"{k}={v}" for k, v in resource.items() if k in ("resource", "subresource"))
        else:
            spec["nonResourceAttributes"] = {"verb": verb, "path": path}
            described = f"path={path}"
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        status = (await self.client.create(ACCESS_REVIEWS, review)).get("status") or {}
        allowed = bool(status.get("allowed"))
        reason = "" if allowed else f"Forbidden (user={user.name}, verb={verb}, {described})"
        self._decisions.put(key, (allowed, reason), self.allowed_ttl if allowed else self.denied_ttl)
        return allowed, reason
