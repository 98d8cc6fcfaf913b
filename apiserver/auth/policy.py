"""The vocabulary of the bootstrap RBAC policy (apiserver/auth/bootstrap.py): verbs, `rule` and `urls`, the
shapes of a bootstrap ClusterRole, ClusterRoleBinding, Role and RoleBinding, and the rules many roles share."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
READ_WRITE = READ + WRITE
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
RBAC_V1 = "rbac.authorization.k8s.io/v1"


def rule(
    verbs: tuple[str, ...] | str,
    groups: tuple[str, ...] | str = "",
    resources: tuple[str, ...] | str = (),
    names: tuple[str, ...] = (),
) -> Obj:
    out: Obj = {
        "verbs": [verbs] if isinstance(verbs, str) else list(verbs),
        "apiGroups": [groups] if isinstance(groups, str) else list(groups),
        "resources": [resources] if isinstance(resources, str) else list(resources),
    }
    if names:
        out["resourceNames"] = list(names)
    return out


def urls(verbs: tuple[str, ...] | str, *paths: str) -> Obj:
    return {"verbs": [verbs] if isinstance(verbs, str) else list(verbs), "nonResourceURLs": list(paths)}


EVENTS = [rule(("create", "update", "patch"), ("", "events.k8s.io"), "events")]
REVIEWS = [
    rule("create", "authentication.k8s.io", "tokenreviews"),
    rule("create", "authorization.k8s.io", "subjectaccessreviews"),
]


def cluster_role(name: str, rules: list[Obj], *, aggregate_into: str = "", aggregated_from: str = "") -> Obj:
    labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    if aggregate_into:
        labels[f"{AGGREGATE_TO}{aggregate_into}"] = "true"
    obj: Obj = {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels, "annotations": {AUTOUPDATE: "true"}},
        "rules": rules,
    }
    if aggregated_from:
        obj["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {f"{AGGREGATE_TO}{aggregated_from}": "true"}}]
        }
    return obj


def _subjects(subjects: tuple[tuple[str, str], ...]) -> list[Obj]:
    out = []
    for kind, subject in subjects:
        if kind == "ServiceAccount":
            namespace, _, sa = subject.partition("/")
            out.append({"kind": kind, "name": sa, "namespace": namespace})
        else:
            out.append({"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": subject})
    return out


def _metadata(name: str, namespace: str = "") -> Obj:
    md: Obj = {
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {AUTOUPDATE: "true"},
    }
    if namespace:
        md["namespace"] = namespace
    return md


def binding(name: str, role: str, *subjects: tuple[str, str]) -> Obj:
    """A ClusterRoleBinding of `role` to subjects given as (kind, name) ("ServiceAccount" names are ns/name)."""
    return {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRoleBinding",
        "metadata": _metadata(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": _subjects(subjects),
    }


def namespace_role(namespace: str, name: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": RBAC_V1, "kind": "Role", "metadata": _metadata(name, namespace), "rules": rules}


def namespace_binding(namespace: str, name: str, role: str, *subjects: tuple[str, str]) -> Obj:
    """A RoleBinding in `namespace` of the Role `role` there (bootstrappolicy's NamespaceRoleBindings)."""
    return {
        "apiVersion": RBAC_V1,
        "kind": "RoleBinding",
        "metadata": _metadata(name, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        "subjects": _subjects(subjects),
    }
