"""RBAC's escalation check (k8s.io/kubernetes `pkg/registry/rbac`): nobody grants what they do not hold.

* Creating or updating a Role or ClusterRole needs every permission in it (in that namespace, or cluster-wide for
  a ClusterRole), or the `escalate` verb on it. An aggregationRule needs `escalate` (cluster-admin's).
* Creating or updating a RoleBinding or ClusterRoleBinding needs the `bind` verb on the role it refers to, or
  every permission of that role.

So a namespace admin (who may write Roles and RoleBindings there) cannot hand out cluster-admin, nor a right the
admin role itself lacks. system:masters pass as they pass every authorization check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apiserver.admission import Attributes, forbidden
from apiserver.auth.authorizer import Attributes as AuthzAttributes
from apiserver.auth.authorizer import Chain, Decision
from apiserver.auth.rbac import covers
from apiserver.auth.requestinfo import RequestInfo

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"
ROLES = ("roles", "clusterroles")
BINDINGS = ("rolebindings", "clusterrolebindings")


class RBACEscalation:
    def __init__(
        self,
        authorizer: Chain,
        rules_for: Callable[[UserInfo, str], list[Obj]],
        role_rules: Callable[[str, str, str], list[Obj] | None],
    ) -> None:
        """`rules_for(user, namespace)`: what RBAC grants the user; `role_rules(kind, namespace, name)`: the rules of
        a Role or ClusterRole (None when it does not exist)."""
        self.authorizer = authorizer
        self.rules_for = rules_for
        self.role_rules = role_rules

    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return operation in ("CREATE", "UPDATE") and info.group == RBAC and not subresource

    async def validate(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user) or a.obj is None:
            return
        if a.info.resource in ROLES:
            self._role(a)
        elif a.info.resource in BINDINGS:
            self._binding(a)

    def _allowed(self, a: Attributes, verb: str, resource: str, name: str) -> bool:
        info = RequestInfo(verb=verb, path="", resource_request=True, api_group=RBAC, resource=resource,
                           namespace=a.namespace if resource == "roles" else "", name=name)  # fmt: skip
        return self.authorizer.authorize(AuthzAttributes(a.user, info))[0] is Decision.ALLOW

    def _role(self, a: Attributes) -> None:
        obj = a.obj or {}
        name = str((obj.get("metadata") or {}).get("name") or a.name)
        if self._allowed(a, "escalate", a.info.resource, name):
            return
        if obj.get("aggregationRule") and (a.old or {}).get("aggregationRule") != obj["aggregationRule"]:
            raise forbidden(a, "must have cluster-admin privileges to use the aggregationRule")
        self._confirm_held(a, obj.get("rules") or [])

    def _binding(self, a: Attributes) -> None:
        ref = (a.obj or {}).get("roleRef") or {}
        kind, role = ref.get("kind"), str(ref.get("name") or "")
        resource = "roles" if kind == "Role" else "clusterroles"
        if self._allowed(a, "bind", resource, role):
            return
        rules = self.role_rules(str(kind), a.namespace, role)
        if rules is None:
            raise forbidden(a, f'{resource}.{RBAC} "{role}" not found')
        self._confirm_held(a, rules)

    def _confirm_held(self, a: Attributes, rules: list[Obj]) -> None:
        held = self.rules_for(a.user, a.namespace)
        missing = [rule for rule in rules if not covers(held, rule)]
        if not missing:
            return
        groups = " ".join(json.dumps(g) for g in a.user.groups)
        raise forbidden(
            a,
            f'user "{a.user.name}" (groups=[{groups}]) is attempting to grant RBAC permissions not currently '
            "held:\n" + "\n".join(_compact(rule) for rule in missing),
        )


def _compact(rule: Obj) -> str:
    """A rule as kube-apiserver prints it in escalation errors: {APIGroups:[""], Resources:["pods"], ...}."""
    parts = []
    for key, label in (("apiGroups", "APIGroups"), ("resources", "Resources"), ("resourceNames", "ResourceNames"),
                       ("nonResourceURLs", "NonResourceURLs"), ("verbs", "Verbs")):  # fmt: skip
        if rule.get(key):
            parts.append(f"{label}:[{', '.join(json.dumps(v) for v in rule[key])}]")
    return "{" + ", ".join(parts) + "}"
