"""Impersonation (`kubectl --as`, `--as-group`, `--as-uid`): act as another user when allowed to
(k8s.io/apiserver `pkg/endpoints/filters/impersonation.go`).

The headers Impersonate-User, Impersonate-Uid, Impersonate-Group (repeatable) and Impersonate-Extra-<key> name the
user to become. Each is checked as the verb `impersonate` on users / serviceaccounts (for a
system:serviceaccount:<ns>:<name> user) / groups / uids / userextras.authentication.k8s.io/<key>, by the same
authorizers as any request. The new user gets system:authenticated (system:unauthenticated for
system:anonymous), and a ServiceAccount its service-account groups.
"""

from __future__ import annotations

from urllib.parse import unquote

from apimachinery import errors
from apimachinery import user as users
from apimachinery.user import UserInfo
from apiserver.auth.authorizer import Attributes, Chain, Decision, forbidden
from apiserver.auth.requestinfo import RequestInfo

HEADER_USER = b"impersonate-user"
HEADER_UID = b"impersonate-uid"
HEADER_GROUP = b"impersonate-group"
HEADER_EXTRA = b"impersonate-extra-"


def requested(
    headers: list[tuple[bytes, bytes]],
) -> tuple[str | None, str | None, list[str], dict[str, list[str]]]:
    """(user, uid, groups, extra) from the Impersonate-* headers."""
    name: str | None = None
    uid: str | None = None
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for key, value in headers:
        text = value.decode("latin-1").strip()
        if key == HEADER_USER:
            name = text
        elif key == HEADER_UID:
            uid = text
        elif key == HEADER_GROUP:
            groups.append(text)
        elif key.startswith(HEADER_EXTRA):
            extra.setdefault(unquote(key[len(HEADER_EXTRA) :].decode("latin-1")).lower(), []).append(text)
    return name, uid, groups, extra


def impersonate(user: UserInfo, headers: list[tuple[bytes, bytes]], authorizer: Chain) -> UserInfo:
    """The user to act as (`user` itself when no Impersonate-* header is sent); StatusError 400/403 otherwise."""
    name, uid, groups, extra = requested(headers)
    if name is None:
        if uid is not None or groups or extra:
            raise errors.bad_request(
                "requested impersonation of groups, uid or extra without impersonating a user"
            )
        return user
    checks: list[RequestInfo] = []
    sa = users.split_service_account(name)
    if sa is not None:
        checks.append(_check("serviceaccounts", sa[1], namespace=sa[0]))
    else:
        checks.append(_check("users", name))
    checks += [_check("groups", g) for g in groups]
    if uid is not None:
        checks.append(_check("uids", uid, group="authentication.k8s.io"))
    for key, values in extra.items():
        checks += [_check("userextras", v, group="authentication.k8s.io", subresource=key) for v in values]
    for info in checks:
        attrs = Attributes(user, info)
        decision, reason = authorizer.authorize(attrs)
        if decision is not Decision.ALLOW:
            raise forbidden(attrs, reason)
    new_groups = list(dict.fromkeys(groups))
    if sa is not None:
        new_groups += [g for g in users.service_account_groups(sa[0])[:2] if g not in new_groups]
    marker = users.UNAUTHENTICATED if name == users.ANONYMOUS else users.AUTHENTICATED
    if marker not in new_groups:
        new_groups.append(marker)
    return UserInfo(name, uid or "", tuple(new_groups), {k: tuple(v) for k, v in extra.items()})


def _check(
    resource: str, name: str, *, namespace: str = "", group: str = "", subresource: str = ""
) -> RequestInfo:
    return RequestInfo(
        verb="impersonate",
        path="",
        resource_request=True,
        api_group=group,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
    )
