"""RBAC helpers shared by the apiserver (bootstrap) and the controller-manager (aggregation controller)."""

from __future__ import annotations

from typing import Any

from apimachinery import labels

Obj = dict[str, Any]


def aggregated_rules(role: Obj, roles: list[Obj]) -> list[Obj]:
    """The rules of `role`'s aggregationRule: every rule of every other ClusterRole its selectors match, in name
    order, without duplicates (what the clusterrole-aggregation controller writes into `role`)."""
    selectors = ((role.get("aggregationRule") or {}).get("clusterRoleSelectors")) or []
    name = (role.get("metadata") or {}).get("name")
    rules: list[Obj] = []
    for selector in selectors:
        try:
            parsed = labels.from_label_selector(selector)
        except ValueError:
            continue
        for other in sorted(roles, key=lambda r: str((r.get("metadata") or {}).get("name"))):
            md = other.get("metadata") or {}
            if md.get("name") == name:
                continue
            if parsed.matches(md.get("labels") or {}):
                rules += [r for r in other.get("rules") or [] if r not in rules]
    return rules
