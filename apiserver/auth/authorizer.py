"""Authorization: who may do what, decided by a chain of authorizers (k8s.io/apiserver `pkg/authorization`).

    Attributes        the user and what the request asks (a RequestInfo)
    Authorizer        one method: `authorize(attrs) -> (Decision, reason)`
    Chain             asks each authorizer in order; the first ALLOW or DENY decides, else the request is denied
    forbidden(attrs)  the 403 Status kube-apiserver answers, with its message text

The chain the apiserver runs is listed in `apiserver/plugins.py` (privileged groups, then --authorization-mode).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from apimachinery import errors
from apimachinery.user import MASTERS, UserInfo
from apiserver.auth.requestinfo import RequestInfo


class Decision(enum.Enum):
    DENY = "deny"
    ALLOW = "allow"
    NO_OPINION = "no-opinion"


@dataclass(frozen=True)
class Attributes:
    user: UserInfo
    request: RequestInfo

    # The names authorizers read (as authorizer.Attributes' getters).
    @property
    def verb(self) -> str:
        return self.request.verb

    @property
    def resource_request(self) -> bool:
        return self.request.resource_request

    @property
    def api_group(self) -> str:
        return self.request.api_group

    @property
    def resource(self) -> str:
        return self.request.resource

    @property
    def subresource(self) -> str:
        return self.request.subresource

    @property
    def namespace(self) -> str:
        return self.request.namespace

    @property
    def name(self) -> str:
        return self.request.name

    @property
    def path(self) -> str:
        return self.request.path


class Authorizer(Protocol):
    def authorize(self, attrs: Attributes) -> tuple[Decision, str]: ...


class Chain:
    """Authorizers in order: the first that allows or denies decides; reasons of the others are kept for the
    403 message, as Kubernetes' union authorizer keeps them."""

    def __init__(self, authorizers: list[Authorizer]) -> None:
        self.authorizers = authorizers

    def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        reasons: list[str] = []
        for authorizer in self.authorizers:
            decision, reason = authorizer.authorize(attrs)
            if decision is not Decision.NO_OPINION:
                return decision, reason
            if reason:
                reasons.append(reason)
        return Decision.NO_OPINION, ", ".join(reasons)


class PrivilegedGroups:
    """system:masters may do everything, whatever RBAC says (as kube-apiserver's first authorizer)."""

    def __init__(self, groups: tuple[str, ...] = (MASTERS,)) -> None:
        self.groups = groups

    def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        if any(g in self.groups for g in attrs.user.groups):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""


class AlwaysAllow:
    """--authorization-mode AlwaysAllow: every authenticated request is allowed (only when asked for)."""

    def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        return Decision.ALLOW, ""


class AlwaysDeny:
    def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        return Decision.NO_OPINION, "Everything is forbidden."


def forbidden_message(attrs: Attributes) -> str:
    """kube-apiserver's text for what was refused (responsewriters.forbiddenMessage)."""
    user = attrs.user.name
    if not attrs.resource_request:
        return f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    if attrs.namespace:
        return (
            f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" '
            f'in the namespace "{attrs.namespace}"'
        )
    return (
        f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" '
        "at the cluster scope"
    )


def forbidden(attrs: Attributes, reason: str = "") -> errors.StatusError:
    """The 403 for a refused request, as kube-apiserver writes it."""
    message = forbidden_message(attrs) + (f": {reason}" if reason else "")
    if not attrs.resource_request:
        return errors.forbidden_resource("", "", "", message)
    return errors.forbidden_resource(attrs.resource, attrs.name, attrs.api_group, message)
