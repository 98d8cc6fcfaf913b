"""The roles and bindings every cluster starts with, as kube-apiserver's bootstrap policy
(k8s.io/kubernetes `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`), trimmed to the resources kubelite serves
plus the ones its add-ons will.

At start-up `reconcile` creates what is missing and leaves what exists alone (an administrator's edits win),
except that the aggregated roles (admin, edit, view) get their rules filled from the roles that aggregate into
them; the controller-manager's clusterrole-aggregation controller keeps them current after that.

kube-controller-manager runs every controller under its own identity here (upstream can use one ServiceAccount
per controller), so `system:kube-controller-manager` holds the union of what those controllers need: the
garbage-collector and namespace controllers read and delete every kind, as theirs do upstream.
"""

from __future__ import annotations

from typing import Any

from apimachinery import user as users
from apimachinery.rbac import aggregated_rules
from apiserver.auth import bootstrap_join
from apiserver.auth.policy import (
    AUTOUPDATE,
    REVIEWS,
    binding,
    cluster_role,
    namespace_binding,
    namespace_role,
    rule,
    urls,
)
from apiserver.auth.roles_addons import (
    KUBE_DNS,
    KUBE_DNS_ACCOUNT,
    KUBE_DNS_NAMESPACE,
    KUBE_DNS_PUBLISH,
    METRICS_READER,
    METRICS_SERVER,
    METRICS_SERVER_NAMESPACE,
    METRICS_SERVER_PUBLISH,
)
from apiserver.auth.roles_components import (
    CONTROLLER_MANAGER,
    KUBELET_API_ADMIN,
    NETPOL_AGENT,
    NODE,
    NODE_PROXIER,
    SCHEDULER,
)
from apiserver.auth.roles_people import ADMIN, EDIT, VIEW
from apiserver.defaultobjects import stamped

Obj = dict[str, Any]


def cluster_roles() -> list[Obj]:
    all_verbs = ["*"]
    return [
        cluster_role(
            "cluster-admin",
            [{"verbs": all_verbs, "apiGroups": ["*"], "resources": ["*"]}, {"verbs": all_verbs, "nonResourceURLs": ["*"]}],
        ),
        cluster_role(
            "system:discovery",
            [urls("get", "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                  "/readyz", "/version", "/version/")],
        ),
        cluster_role(
            "system:monitoring",
            [urls("get", "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*",
                  "/healthz/*")],
        ),
        cluster_role(
            "system:basic-user",
            [rule("create", "authorization.k8s.io", ("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
             rule("create", "authentication.k8s.io", "selfsubjectreviews")],
        ),
        cluster_role("system:public-info-viewer", [urls("get", "/healthz", "/livez", "/readyz", "/version", "/version/")]),
        cluster_role("admin", [], aggregated_from="admin"),
        cluster_role("edit", [], aggregated_from="edit", aggregate_into="admin"),
        cluster_role("view", [], aggregated_from="view", aggregate_into="edit"),
        cluster_role("system:aggregate-to-admin", ADMIN, aggregate_into="admin"),
        cluster_role("system:aggregate-to-edit", EDIT, aggregate_into="edit"),
        cluster_role("system:aggregate-to-view", VIEW, aggregate_into="view"),
        cluster_role("system:node", NODE),
        cluster_role("system:kube-scheduler", SCHEDULER),
        cluster_role("system:kube-controller-manager", CONTROLLER_MANAGER),
        cluster_role("system:node-proxier", NODE_PROXIER),
        cluster_role("system:kube-netpol", NETPOL_AGENT),
        cluster_role("system:kubelet-api-admin", KUBELET_API_ADMIN),
        cluster_role("system:auth-delegator", REVIEWS),
        cluster_role("system:service-account-issuer-discovery", [urls("get", "/.well-known/openid-configuration",
                                                                      "/.well-known/openid-configuration/",
                                                                      "/openid/v1/jwks", "/openid/v1/jwks/")]),
        cluster_role("system:kube-dns", KUBE_DNS),
        cluster_role("system:metrics-server", METRICS_SERVER),
        cluster_role("system:aggregated-metrics-reader", METRICS_READER, aggregate_into="view"),
        *bootstrap_join.cluster_roles(),
    ]  # fmt: skip


def cluster_role_bindings() -> list[Obj]:
    return [
        binding("cluster-admin", "cluster-admin", ("Group", users.MASTERS)),
        binding("system:monitoring", "system:monitoring", ("Group", "system:monitoring")),
        binding("system:discovery", "system:discovery", ("Group", users.AUTHENTICATED)),
        binding("system:basic-user", "system:basic-user", ("Group", users.AUTHENTICATED)),
        binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            ("Group", users.AUTHENTICATED),
            ("Group", users.UNAUTHENTICATED),
        ),
        binding("system:node-proxier", "system:node-proxier", ("User", users.KUBE_PROXY)),
        binding("system:kube-netpol", "system:kube-netpol", ("Group", users.KUBE_NETPOLS)),
        binding("system:kube-controller-manager", "system:kube-controller-manager", ("User", users.KUBE_CONTROLLER_MANAGER)),
        binding("system:kube-scheduler", "system:kube-scheduler", ("User", users.KUBE_SCHEDULER)),
        binding("system:kube-dns", "system:kube-dns", ("ServiceAccount", KUBE_DNS_ACCOUNT)),
        binding("system:metrics-server", "system:metrics-server", ("User", users.METRICS_SERVER)),
        binding("system:node", "system:node"),
        binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
                ("Group", users.SERVICE_ACCOUNTS)),
        binding("kube-apiserver-kubelet-client", "system:kubelet-api-admin",
                ("User", users.APISERVER_KUBELET_CLIENT)),
        *bootstrap_join.cluster_role_bindings(),
    ]  # fmt: skip


def namespace_roles() -> list[Obj]:
    return [
        namespace_role(KUBE_DNS_NAMESPACE, "system:kube-dns", KUBE_DNS_PUBLISH),
        namespace_role(METRICS_SERVER_NAMESPACE, "system:metrics-server", METRICS_SERVER_PUBLISH),
        *bootstrap_join.namespace_roles(),
    ]


def namespace_role_bindings() -> list[Obj]:
    return [
        namespace_binding(
            KUBE_DNS_NAMESPACE, "system:kube-dns", "system:kube-dns", ("ServiceAccount", KUBE_DNS_ACCOUNT)
        ),
        namespace_binding(
            METRICS_SERVER_NAMESPACE,
            "system:metrics-server",
            "system:metrics-server",
            ("User", users.METRICS_SERVER),
        ),
        *bootstrap_join.namespace_role_bindings(),
    ]


# ---- reconcile at start-up -----------------------------------------------------------------------------------


async def reconcile(storage: Any) -> None:
    """Create the bootstrap roles and bindings (cluster-wide, and the few in kube-system) that are missing; add missing rules and subjects to those that
    carry the autoupdate annotation; fill the aggregated roles. StorageError when storage does not answer."""
    from apiserver.storage.interface import ErrorCode, StorageError

    async def ensure(prefix: str, wanted: Obj, merge: Any) -> None:
        md = wanted["metadata"]
        key = prefix + (f"{md['namespace']}/" if md.get("namespace") else "") + md["name"]
        try:
            await storage.create(key, stamped(wanted))
            return
        except StorageError as exc:
            if exc.code is not ErrorCode.EXISTS:
                raise

        def update(current: Obj | None) -> Obj:
            if current is None:
                return stamped(wanted)
            if (current["metadata"].get("annotations") or {}).get(AUTOUPDATE) != "true":
                return current
            return merge(dict(current), wanted)

        await storage.guaranteed_update(key, update, ignore_not_found=True)

    for role in cluster_roles():
        await ensure("/registry/clusterroles/", role, _merge_rules)
    for crb in cluster_role_bindings():
        await ensure("/registry/clusterrolebindings/", crb, _merge_subjects)
    for role in namespace_roles():
        await ensure("/registry/roles/", role, _merge_rules)
    for rb in namespace_role_bindings():
        await ensure("/registry/rolebindings/", rb, _merge_subjects)
    await fill_aggregated(storage)


async def fill_aggregated(storage: Any) -> None:
    """Aggregated roles may aggregate aggregated roles (admin <- edit <- view): repeat until nothing changes."""
    for _ in range(5):
        roles = [kv.obj for kv in (await storage.list("/registry/clusterroles/")).items]
        changed = False
        for role in roles:
            if not role.get("aggregationRule"):
                continue
            rules = aggregated_rules(role, roles)
            if rules == (role.get("rules") or []):
                continue
            role["rules"] = rules  # later roles of this pass see it

            def update(current: Obj | None, _rules: list[Obj] = rules) -> Obj:
                assert current is not None
                return {**current, "rules": _rules}

            await storage.guaranteed_update("/registry/clusterroles/" + role["metadata"]["name"], update)
            changed = True
        if not changed:
            return


def _merge_rules(current: Obj, wanted: Obj) -> Obj:
    rules = list(current.get("rules") or [])
    rules += [r for r in wanted.get("rules") or [] if r not in rules]
    current["rules"] = rules
    if wanted.get("aggregationRule") and not current.get("aggregationRule"):
        current["aggregationRule"] = wanted["aggregationRule"]
    return current


def _merge_subjects(current: Obj, wanted: Obj) -> Obj:
    subjects = list(current.get("subjects") or [])
    subjects += [s for s in wanted.get("subjects") or [] if s not in subjects]
    if subjects:
        current["subjects"] = subjects
    return current
