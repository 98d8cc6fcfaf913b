"""The bootstrap token authenticator (k8s.io/kubernetes `plugin/pkg/auth/authenticator/token/bootstrap`).

`Authorization: Bearer <id>.<secret>` is the user system:bootstrap:<id> in system:bootstrappers (and the
token's auth-extra-groups) when kube-system holds the Secret bootstrap-token-<id> of type
bootstrap.kubernetes.io/token with that secret, usage-bootstrap-authentication "true", not expired and not being
deleted. Anything else is not this authenticator's token (the chain goes on, and ends in 401).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apimachinery import bootstraptoken as bt
from apimachinery.user import UserInfo
from apiserver.auth.authenticators import Credentials

log = logging.getLogger("apiserver.auth")

SecretLookup = Callable[[str, str], Awaitable[dict[str, Any] | None]]


class BootstrapTokens:
    def __init__(self, secret: SecretLookup) -> None:
        self.secret = secret

    async def authenticate(self, creds: Credentials) -> UserInfo | None:
        text = creds.bearer_token or ""
        if bt.TOKEN_RE.fullmatch(text) is None:
            return None
        token = bt.Token.parse(text)
        found = bt.TokenSecret.read(
            await self.secret(bt.NAMESPACE, bt.secret_name(token.id)), dt.datetime.now(dt.UTC)
        )
        if found is None or not found.matches(token):
            log.info("bootstrap token refused", extra={"token_id": token.id})
            return None
        if not found.usage(bt.USAGE_AUTHENTICATION):
            log.info("bootstrap token not marked for authentication", extra={"token_id": token.id})
            return None
        return UserInfo(bt.USER_PREFIX + token.id, groups=(bt.GROUP, *found.extra_groups()))
