"""Who is asking, and whether they may (metrics-server's delegated authentication and authorization).

* Authentication is requestheader only: the user and groups in X-Remote-User / X-Remote-Group /
  X-Remote-Extra-<key> are believed only on a connection whose client certificate was issued by the
  --requestheader-client-ca-file CA (verified by the TLS layer) and whose CN is one of
  --requestheader-allowed-names. Anything else is 401: this server is meant to be reached through the apiserver,
  which has already authenticated the user. (Upstream also accepts bearer tokens by TokenReview; not here.)
* Authorization is a SubjectAccessReview to the apiserver for the verb on `metrics.k8s.io` pods or nodes, with
  the namespace and name; answers are cached briefly (allowed 10 s, denied 10 s, as upstream's defaults).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apimachinery.client import Client
from apimachinery.resources import must_resource
from apimachinery.tlsserve import client_cert_subject
from apimachinery.user import UserInfo

ACCESS_REVIEWS = must_resource("authorization.k8s.io", "subjectaccessreviews")
USER_HEADER = "x-remote-user"
GROUP_HEADER = "x-remote-group"
EXTRA_PREFIX = "x-remote-extra-"
CACHE_SECONDS = 10.0


def from_headers(headers: list[tuple[bytes, bytes]]) -> UserInfo | None:
    """The requestheader user of these headers, or None without X-Remote-User."""
    name = ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for raw_key, raw_value in headers:
        key, value = raw_key.decode("latin-1").lower(), raw_value.decode("latin-1")
        if key == USER_HEADER and not name:
            name = value
        elif key == GROUP_HEADER:
            groups.append(value)
        elif key.startswith(EXTRA_PREFIX):
            extra.setdefault(urllib.parse.unquote(key[len(EXTRA_PREFIX) :]), []).append(value)
    if not name:
        return None
    return UserInfo(name, groups=tuple(groups), extra={k: tuple(v) for k, v in extra.items()})


@dataclass(frozen=True)
class RequestHeader:
    allowed_names: tuple[str, ...]  # empty: any certificate from the requestheader CA

    def authenticate(self, scope: Mapping[str, Any]) -> UserInfo | None:
        subject = client_cert_subject(scope)
        if subject is None or (self.allowed_names and subject[0] not in self.allowed_names):
            return None
        return from_headers(scope.get("headers") or [])


class Authorizer:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._cache: dict[tuple[Any, ...], tuple[float, bool]] = {}

    async def allowed(self, user: UserInfo, verb: str, resource: str, namespace: str, name: str) -> bool:
        key = (user.name, user.groups, tuple(sorted(user.extra.items())), verb, resource, namespace, name)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        attributes = {"verb": verb, "group": "metrics.k8s.io", "version": "v1beta1", "resource": resource}
        if namespace:
            attributes["namespace"] = namespace
        if name:
            attributes["name"] = name
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user.name, "uid": user.uid, "groups": list(user.groups),
                     "extra": {k: list(v) for k, v in user.extra.items()}, "resourceAttributes": attributes},
        }  # fmt: skip
        status = (await self.client.create(ACCESS_REVIEWS, review)).get("status") or {}
        allowed = bool(status.get("allowed"))
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + CACHE_SECONDS, allowed)
        return allowed
