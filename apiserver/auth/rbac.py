"""The RBAC authorizer (k8s.io/kubernetes `plugin/pkg/auth/authorizer/rbac`): a request is allowed when a rule of
a role bound to the user allows it.

* ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant a Role (or a ClusterRole) in their
  namespace only.
* A subject matches by user name, by one of the user's groups, or as a ServiceAccount
  (`system:serviceaccount:<ns>:<name>`).
* A rule matches when its verbs, apiGroups, resources (`*`, `res`, `res/sub`, `*/sub`) and resourceNames (empty:
  any) all do; non-resource rules match paths exactly or by a trailing `*`.

There is no deny: a request no rule allows gets no opinion, so the chain refuses it.

The rule matching functions are pure; `RulesSource` reads the bindings and roles from the apiserver's watch
caches, and `RBACAuthorizer` keeps the rules it resolved per (user, groups, namespace) until RBAC objects change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from apimachinery.user import UserInfo
from apiserver.auth.authorizer import Attributes, Decision

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"


# ---- rule matching (pure) --------------------------------------------------------------------------------------


def verb_matches(rule: Obj, verb: str) -> bool:
    verbs = rule.get("verbs") or []
    return "*" in verbs or verb in verbs


def group_matches(rule: Obj, group: str) -> bool:
    groups = rule.get("apiGroups") or []
    return "*" in groups or group in groups


def resource_matches(rule: Obj, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.get("resources") or []:
        if r == "*" or r == combined:
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def name_matches(rule: Obj, name: str) -> bool:
    names = rule.get("resourceNames") or []
    return not names or name in names


def path_matches(rule: Obj, path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == path:
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    if not verb_matches(rule, attrs.verb):
        return False
    if attrs.resource_request:
        return (
            group_matches(rule, attrs.api_group)
            and resource_matches(rule, attrs.resource, attrs.subresource)
            and name_matches(rule, attrs.name)
        )
    return path_matches(rule, attrs.path)


def subject_matches(subject: Obj, user: UserInfo, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name")
    if kind == "User":
        return bool(name) and name == user.name
    if kind == "Group":
        return bool(name) and name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(name) and user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


def binding_applies(binding: Obj, user: UserInfo) -> bool:
    namespace = (binding.get("metadata") or {}).get("namespace") or ""
    return any(subject_matches(s, user, namespace) for s in binding.get("subjects") or [])


# ---- where the roles and bindings come from ---------------------------------------------------------------


class RulesSource(Protocol):
    def revision(self) -> object:
        """Changes whenever a role or binding may have changed (invalidates memoized rules)."""

    def cluster_role_bindings(self) -> Iterable[Obj]: ...

    def role_bindings(self, namespace: str) -> Iterable[Obj]: ...

    def cluster_role(self, name: str) -> Obj | None: ...

    def role(self, namespace: str, name: str) -> Obj | None: ...


def resolve_rules(source: RulesSource, user: UserInfo, namespace: str) -> list[Obj]:
    """Every rule granted to `user` in `namespace` ("" = at the cluster scope only)."""
    rules: list[Obj] = []
    for crb in source.cluster_role_bindings():
        if binding_applies(crb, user):
            role = source.cluster_role((crb.get("roleRef") or {}).get("name", ""))
            rules += (role or {}).get("rules") or []
    if namespace:
        for rb in source.role_bindings(namespace):
            if not binding_applies(rb, user):
                continue
            ref = rb.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                role = source.cluster_role(ref.get("name", ""))
            else:
                role = source.role(namespace, ref.get("name", ""))
            rules += (role or {}).get("rules") or []
    return rules


class RBACAuthorizer:
    MEMO_LIMIT = 4096

    def __init__(self, source: RulesSource) -> None:
        self.source = source
        self._memo: dict[tuple[str, tuple[str, ...], str], list[Obj]] = {}
        self._memo_revision: object = None

    def rules_for(self, user: UserInfo, namespace: str) -> list[Obj]:
        revision = self.source.revision()
        if revision != self._memo_revision or len(self._memo) > self.MEMO_LIMIT:
            self._memo = {}
            self._memo_revision = revision
        key = (user.name, user.groups, namespace)
        rules = self._memo.get(key)
        if rules is None:
            rules = self._memo[key] = resolve_rules(self.source, user, namespace)
        return rules

    def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        rules = self.rules_for(attrs.user, attrs.namespace if attrs.resource_request else "")
        if any(rule_allows(rule, attrs) for rule in rules):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""


def covers(owned: list[Obj], wanted: Obj) -> bool:
    """Whether the rules `owned` allow everything rule `wanted` allows (RBAC's escalation check, by expanding
    `wanted` into its single verb/group/resource/name combinations; `*` in `wanted` needs a `*` in `owned`)."""
    verbs = wanted.get("verbs") or []
    if wanted.get("nonResourceURLs"):
        return all(
            any(verb_matches(r, v) and _url_covers(r, u) for r in owned)
            for v in verbs
            for u in wanted["nonResourceURLs"]
        )
    return all(
        any(_rule_covers(r, v, g, res, n) for r in owned)
        for v in verbs
        for g in wanted.get("apiGroups") or [""]
        for res in wanted.get("resources") or []
        for n in wanted.get("resourceNames") or [""]
    )


def _rule_covers(rule: Obj, verb: str, group: str, resource: str, name: str) -> bool:
    names = rule.get("resourceNames") or []
    return (
        verb_matches(rule, verb)
        and group_matches(rule, group)
        and _resource_covers(rule, resource)
        and (not names or (bool(name) and name in names))
    )


def _resource_covers(rule: Obj, resource: str) -> bool:
    resources = rule.get("resources") or []
    if "*" in resources or resource in resources:
        return True
    _, _, sub = resource.partition("/")
    return bool(sub) and f"*/{sub}" in resources


def _url_covers(rule: Obj, url: str) -> bool:
    for owned in rule.get("nonResourceURLs") or []:
        if owned == "*" or owned == url or (owned.endswith("*") and url.startswith(owned[:-1])):
            return True
    return False
