"""Trust: who is asking (authenticators), may they (authorizers), and the resources that answer those questions.

    requestinfo.py      what a request asks, in authorization's terms
    authenticators.py   x509, static tokens, ServiceAccount tokens (tokens.py signs and checks those)
    impersonation.py    Impersonate-* headers
    authorizer.py       the authorizer interface, the chain, the 403 message
    rbac.py, node.py    the RBAC and Node authorizers; bootstrap.py the roles every cluster starts with
    policy.py           the vocabulary of those roles (rules, role and binding shapes)
    roles_*.py          the bootstrap rules by who they are for: people, components, add-ons
    reviews.py          TokenReview, the access reviews, SelfSubjectReview, TokenRequest
    filter.py           the ASGI middleware that runs authentication and authorization on every request

The plugins in use and their order are listed in apiserver/plugins.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apiserver.auth.authenticators import Chain as Authenticators
from apiserver.auth.authorizer import Chain as Authorizers


@dataclass
class Auth:
    authenticator: Authenticators
    authorizer: Authorizers
    ready: Callable[[], Awaitable[None]] | None = None  # resolves once the authorizers' data is loaded
