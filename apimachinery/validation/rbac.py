"""Validation of RBAC roles and bindings and of ServiceAccounts (k8s.io/kubernetes `pkg/apis/rbac/validation`).

RBAC names are path segments (`system:node` is a good name: only `/`, `%`, `.` and `..` are refused). A rule names
verbs and either resources (with API groups) or non-resource URLs (cluster roles only); a binding refers to a
role it may never change (`roleRef` is immutable) and lists User, Group or ServiceAccount subjects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apimachinery.validation.common import (
    Errs,
    Obj,
    _dict,
    _items,
    invalid,
    not_supported,
    required,
    validate_label_selector,
)
from apimachinery.validation.syntax import is_dns1123_subdomain

RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ["Group", "ServiceAccount", "User"]


def is_path_segment_name(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def _rules(obj: Obj, errs: Errs, *, namespaced: bool) -> None:
    for _, path, rule in _items(obj, "rules", "rules", errs):
        if not rule.get("verbs"):
            errs.append(required(f"{path}.verbs", "verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs")
        if urls:
            if namespaced:
                errs.append(
                    invalid(
                        f"{path}.nonResourceURLs", urls, "namespaced rules cannot apply to non-resource URLs"
                    )
                )
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                errs.append(
                    invalid(
                        f"{path}.nonResourceURLs",
                        urls,
                        "rules cannot apply to both regular resources and non-resource URLs",
                    )
                )
            continue
        if not rule.get("apiGroups"):
            errs.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            errs.append(required(f"{path}.resources", "resource rules must supply at least one resource"))


def _role(obj: Obj, errs: Errs) -> None:
    _rules(obj, errs, namespaced=True)


def _cluster_role(obj: Obj, errs: Errs) -> None:
    _rules(obj, errs, namespaced=False)
    aggregation = obj.get("aggregationRule")
    if aggregation is not None:
        selectors = _dict(aggregation).get("clusterRoleSelectors")
        if not selectors:
            errs.append(
                required(
                    "aggregationRule.clusterRoleSelectors",
                    "at least one clusterRoleSelector required if aggregationRule is non-nil",
                )
            )
        for _, path, selector in _items(
            _dict(aggregation), "clusterRoleSelectors", "aggregationRule.clusterRoleSelectors", errs
        ):
            validate_label_selector(selector, path, errs)


def _binding(obj: Obj, errs: Errs, *, role_kinds: list[str], namespaced: bool) -> None:
    ref = _dict(obj.get("roleRef"))
    if ref.get("apiGroup") != RBAC_GROUP:
        errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP]))
    if ref.get("kind") not in role_kinds:
        errs.append(not_supported("roleRef.kind", ref.get("kind", ""), role_kinds))
    name = ref.get("name")
    if not name:
        errs.append(required("roleRef.name", ""))
    else:
        errs.extend(invalid("roleRef.name", name, m) for m in is_path_segment_name(str(name)))
    for _, path, subject in _items(obj, "subjects", "subjects", errs):
        _subject(subject, path, errs, namespaced=namespaced)


def _subject(subject: Obj, path: str, errs: Errs, *, namespaced: bool) -> None:
    kind, name = subject.get("kind"), subject.get("name")
    if not name:
        errs.append(required(f"{path}.name", ""))
    if kind == "ServiceAccount":
        if name:
            errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_subdomain(str(name)))
        if subject.get("apiGroup"):
            errs.append(not_supported(f"{path}.apiGroup", subject["apiGroup"], [""]))
        if not namespaced and not subject.get("namespace"):
            errs.append(required(f"{path}.namespace", ""))
    elif kind in ("User", "Group"):
        if subject.get("apiGroup") != RBAC_GROUP:
            errs.append(not_supported(f"{path}.apiGroup", subject.get("apiGroup", ""), [RBAC_GROUP]))
    else:
        errs.append(not_supported(f"{path}.kind", kind or "", SUBJECT_KINDS))


def _role_binding(obj: Obj, errs: Errs) -> None:
    _binding(obj, errs, role_kinds=["ClusterRole", "Role"], namespaced=True)


def _cluster_role_binding(obj: Obj, errs: Errs) -> None:
    _binding(obj, errs, role_kinds=["ClusterRole"], namespaced=False)


def _role_ref_unchanged(new: Obj, old: Obj, errs: Errs) -> None:
    if (old.get("roleRef") or {}) != (new.get("roleRef") or {}):
        errs.append(invalid("roleRef", new.get("roleRef"), "cannot change roleRef"))


Check = Callable[[Obj, Errs], None]
UpdateCheck = Callable[[Obj, Obj, Errs], None]

# (group, kind) -> (name syntax, object checks, update checks), merged into validation.objects' table.
KINDS: dict[tuple[str, str], tuple[Callable[[str], list[str]], Check | None, UpdateCheck | None]] = {
    (RBAC_GROUP, "Role"): (is_path_segment_name, _role, None),
    (RBAC_GROUP, "ClusterRole"): (is_path_segment_name, _cluster_role, None),
    (RBAC_GROUP, "RoleBinding"): (is_path_segment_name, _role_binding, _role_ref_unchanged),
    (RBAC_GROUP, "ClusterRoleBinding"): (is_path_segment_name, _cluster_role_binding, _role_ref_unchanged),
    ("", "ServiceAccount"): (is_dns1123_subdomain, None, None),
}

__all__: list[Any] = ["KINDS", "is_path_segment_name"]
