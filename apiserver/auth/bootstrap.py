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

VIEW = [
    rule(READ, "", ("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                    "services", "services/status", "endpoints", "persistentvolumeclaims",
                    "persistentvolumeclaims/status", "configmaps")),
    rule(READ, "", ("limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
                    "namespaces/status", "replicationcontrollers/status", "pods/log")),
    rule(READ, "", "namespaces"),
    rule(READ, "discovery.k8s.io", "endpointslices"),
    rule(READ, "apps", ("controllerrevisions", "statefulsets", "statefulsets/scale", "statefulsets/status",
                        "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                        "deployments/status", "replicasets", "replicasets/scale", "replicasets/status")),
    rule(READ, "autoscaling", ("horizontalpodautoscalers", "horizontalpodautoscalers/status")),
    rule(READ, "batch", ("jobs", "jobs/status", "cronjobs", "cronjobs/status")),
    rule(READ, "policy", ("poddisruptionbudgets", "poddisruptionbudgets/status")),
    rule(READ, "networking.k8s.io", ("networkpolicies", "ingresses", "ingresses/status")),
    rule(READ, "storage.k8s.io", "csistoragecapacities"),
]  # fmt: skip

EDIT = [
    rule(READ, "", ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy")),
    rule("impersonate", "", "serviceaccounts"),
    rule(WRITE, "", ("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward")),
    rule("create", "", "pods/eviction"),
    rule(WRITE, "", ("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                     "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events")),
    rule("create", "", "serviceaccounts/token"),
    rule(WRITE, "apps", ("statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
                         "deployments/rollback", "replicasets", "replicasets/scale")),
    rule(WRITE, "autoscaling", "horizontalpodautoscalers"),
    rule(WRITE, "batch", ("jobs", "cronjobs")),
    rule(WRITE, "policy", "poddisruptionbudgets"),
    rule(WRITE, "networking.k8s.io", ("networkpolicies", "ingresses")),
    rule(READ_WRITE, "coordination.k8s.io", "leases"),
]  # fmt: skip

ADMIN = [
    rule("create", "authorization.k8s.io", "localsubjectaccessreviews"),
    rule(READ_WRITE, "rbac.authorization.k8s.io", ("roles", "rolebindings")),
]

# The node authorizer's rules for everything it does not subdivide (bootstrappolicy.NodeRules).
NODE = [
    *REVIEWS,
    rule("create", "authorization.k8s.io", "localsubjectaccessreviews"),
    rule(READ, "", "services"),
    rule(("create", "get", "list", "watch"), "", "nodes"),
    rule(("update", "patch"), "", ("nodes/status", "nodes")),
    *EVENTS,
    rule(READ, "", "pods"),
    rule(("create", "delete"), "", "pods"),
    rule(("update", "patch"), "", "pods/status"),
    rule("create", "", "pods/eviction"),
    rule(READ, "", ("secrets", "configmaps")),
    rule("get", "", ("persistentvolumeclaims", "persistentvolumes")),
    rule("get", "", "endpoints"),
    rule(("get", "create", "update", "patch", "delete"), "coordination.k8s.io", "leases"),
    rule("get", "storage.k8s.io", "volumeattachments"),
    rule("create", "", "serviceaccounts/token"),
    rule(("get", "update", "patch"), "", "persistentvolumeclaims/status"),
    rule(READ, "storage.k8s.io", "csidrivers"),
    rule(("get", "create", "update", "patch", "delete"), "storage.k8s.io", "csinodes"),
    rule(READ, "node.k8s.io", "runtimeclasses"),
    rule(("create", "get", "list", "watch"), "certificates.k8s.io", "certificatesigningrequests"),
]

SCHEDULER = [
    rule("create", "coordination.k8s.io", "leases"),
    rule(("get", "update"), "coordination.k8s.io", "leases", names=("kube-scheduler",)),
    rule(READ, "", "nodes"),
    rule(("get", "list", "watch", "delete"), "", "pods"),
    rule("create", "", ("pods/binding", "bindings")),
    rule(("patch", "update"), "", "pods/status"),
    rule(READ, "", ("services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes", "namespaces")),
    rule("patch", "", "persistentvolumeclaims"),  # the selected-node annotation of WaitForFirstConsumer claims
    rule(READ, "apps", ("replicasets", "statefulsets")),
    rule(READ, "policy", "poddisruptionbudgets"),
    rule(READ, "storage.k8s.io", ("csinodes", "csidrivers", "csistoragecapacities", "storageclasses")),
    *REVIEWS,
    *EVENTS,
]  # fmt: skip

CONTROLLER_MANAGER = [
    # garbage collector and namespace controller: every kind
    rule(("get", "list", "watch", "patch", "update", "delete", "deletecollection"), "*", "*"),
    rule(
        "create",
        "",
        (
            "pods",
            "endpoints",
            "serviceaccounts",
            "configmaps",
            "secrets",
            "namespaces",
            "persistentvolumeclaims",
            "persistentvolumes",
            "replicationcontrollers",
        ),
    ),
    rule("create", ("apps", "batch", "discovery.k8s.io", "coordination.k8s.io", "policy"), "*"),
    rule("create", "", "serviceaccounts/token"),
    rule("create", "", "pods/eviction"),
    # the clusterrole-aggregation controller writes rules it may not hold itself
    rule("escalate", "rbac.authorization.k8s.io", "clusterroles"),
    # the CSR approver and signer (apiserver/auth/bootstrap_join.py names the signers)
    rule(
        "approve",
        "certificates.k8s.io",
        "signers",
        names=("kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving"),
    ),
    rule(
        "sign",
        "certificates.k8s.io",
        "signers",
        names=(
            "kubernetes.io/kube-apiserver-client",
            "kubernetes.io/kube-apiserver-client-kubelet",
            "kubernetes.io/kubelet-serving",
        ),
    ),
    *REVIEWS,
    *EVENTS,
]

NODE_PROXIER = [
    rule(("list", "watch"), "", ("services", "endpoints")),
    rule(("get", "list", "watch"), "", "nodes"),
    rule(("list", "watch"), "discovery.k8s.io", "endpointslices"),
    *REVIEWS,  # its secure /metrics port asks the apiserver who a caller is and what it may do
    *EVENTS,
]

# kube-dns (kube_dns/): informers on every namespace's Services, EndpointSlices and Pods, the answers it serves.
KUBE_DNS = [
    rule(("list", "watch"), "", ("services", "pods")),
    rule(("list", "watch"), "discovery.k8s.io", "endpointslices"),
]
# ... and in kube-system only (a Role there), what it publishes: it creates its Service when missing (a create
# cannot be limited to one name) and keeps its own EndpointSlice and Endpoints, watched by name.
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_ACCOUNT = "kube-system/kube-dns"  # the ServiceAccount both roles are bound to
KUBE_DNS_PUBLISH = [
    rule("create", "", ("services", "endpoints")),
    rule("create", "discovery.k8s.io", "endpointslices"),
    rule(("list", "watch", "update"), "", "endpoints", names=("kube-dns",)),
    rule("update", "discovery.k8s.io", "endpointslices", names=("kube-dns",)),
]

# metrics-server (metrics_server/): the nodes it scrapes (their kubelets' /metrics/resource, which the kubelet
# authorizes as nodes/metrics), the pods it reports on, and the SubjectAccessReviews that delegate its
# authorization to the apiserver (it takes no tokens, so no TokenReviews: less than system:auth-delegator).
METRICS_SERVER = [
    rule(("get", "list"), "", "nodes"),
    rule("get", "", ("nodes/metrics", "nodes/stats")),
    rule("list", "", "pods"),
    rule("create", "authorization.k8s.io", "subjectaccessreviews"),
]
# ... and in kube-system, what it publishes (as kube-dns): its Service and EndpointSlice, created when missing.
METRICS_SERVER_NAMESPACE = "kube-system"
METRICS_SERVER_PUBLISH = [
    rule("create", "", "services"),
    rule("create", "discovery.k8s.io", "endpointslices"),
    rule("get", "", "services", names=("metrics-server",)),
    rule(("get", "update"), "discovery.k8s.io", "endpointslices", names=("metrics-server",)),
]
# Who may read the metrics: aggregated into view, edit and admin (metrics-server's aggregated-metrics-reader).
METRICS_READER = [rule(READ, "metrics.k8s.io", ("pods", "nodes"))]

# kube-netpol (netpol/agent.py): informers on policies, pods and namespaces; Warning Events about skipped entries
# (apimachinery.events: create, then patch for a repeat); the reviews of its secure /metrics port. It never writes a
# policy or reads a Secret.
NETPOL_AGENT = [
    rule(("list", "watch"), "networking.k8s.io", "networkpolicies"),
    rule(("list", "watch"), "", ("pods", "namespaces")),
    rule(("create", "patch"), "", "events"),
    *REVIEWS,  # its secure /metrics port asks the apiserver who a caller is and what it may do
]

KUBELET_API_ADMIN = [
    rule(READ, "", "nodes"),
    rule("proxy", "", "nodes"),
    rule("*", "", ("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log")),
]


def _join() -> Any:
    from apiserver.auth import bootstrap_join  # it builds on this module's helpers

    return bootstrap_join


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
        *_join().cluster_roles(),
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
        *_join().cluster_role_bindings(),
    ]  # fmt: skip


def namespace_roles() -> list[Obj]:
    return [
        namespace_role(KUBE_DNS_NAMESPACE, "system:kube-dns", KUBE_DNS_PUBLISH),
        namespace_role(METRICS_SERVER_NAMESPACE, "system:metrics-server", METRICS_SERVER_PUBLISH),
        *_join().namespace_roles(),
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
        *_join().namespace_role_bindings(),
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
            await storage.create(key, _stamped(wanted))
            return
        except StorageError as exc:
            if exc.code is not ErrorCode.EXISTS:
                raise

        def update(current: Obj | None) -> Obj:
            if current is None:
                return _stamped(wanted)
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


def local_path_class() -> Obj:
    """The default StorageClass of `kctl up` and compose: the kubelets' local volumes, bound on first use."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "local-path",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubelite.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


async def local_path_storage_class(storage: Any) -> None:
    """Create the `local-path` StorageClass when it is missing (the add-on manager's EnsureExists: an
    administrator's changes stay; a deleted class comes back at the next start)."""
    from apiserver.storage.interface import ErrorCode, StorageError

    try:
        await storage.create("/registry/storageclasses/local-path", _stamped(local_path_class()))
    except StorageError as exc:
        if exc.code is not ErrorCode.EXISTS:
            raise


METRICS_GROUP, METRICS_VERSION = "metrics.k8s.io", "v1beta1"


def metrics_api_service(ca_pem: bytes) -> Obj:
    """The metrics-server's registration: metrics.k8s.io/v1beta1 served by kube-system/metrics-server, whose
    certificate the given CA signed (for metrics-server.kube-system.svc)."""
    import base64

    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": f"{METRICS_VERSION}.{METRICS_GROUP}", "labels": {"k8s-app": "metrics-server"}},
        "spec": {
            "group": METRICS_GROUP,
            "version": METRICS_VERSION,
            "service": {"namespace": METRICS_SERVER_NAMESPACE, "name": "metrics-server", "port": 443},
            "caBundle": base64.b64encode(ca_pem).decode(),
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    }


async def ensure_metrics_api_service(storage: Any, ca_file: str) -> None:
    """Create the metrics APIService when it is missing (EnsureExists, as local_path_storage_class)."""
    import asyncio
    from pathlib import Path

    from apiserver.storage.interface import ErrorCode, StorageError

    wanted = metrics_api_service(await asyncio.to_thread(Path(ca_file).read_bytes))
    try:
        await storage.create(f"/registry/apiservices/{wanted['metadata']['name']}", _stamped(wanted))
    except StorageError as exc:
        if exc.code is not ErrorCode.EXISTS:
            raise


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


def _stamped(obj: Obj) -> Obj:
    import copy

    from apiserver.lookups import stamp

    return stamp(copy.deepcopy(obj))


async def kubernetes_service(server: Any, address: str, port: int) -> None:
    """The `kubernetes` Service in `default` (the first address of the service range, port 443) and its
    Endpoints pointing at this apiserver, as kube-apiserver's bootstrap controller keeps them."""
    from apimachinery import errors
    from apimachinery.resources import must_resource
    from apiserver.storage.interface import ErrorCode, StorageError

    services = server.store(must_resource("", "services"))
    first = _first_service_ip(server.options.service_cluster_ip_range)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": first,
            "clusterIPs": [first],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
        },
    }
    key = "/registry/services/default/kubernetes"
    try:
        await services.get(
            "default", "kubernetes"
        )  # kept from an earlier start: its address is claimed already
    except errors.StatusError as missing:
        if not errors.is_not_found(missing):
            raise StorageError(ErrorCode.UNAVAILABLE, key, str(missing)) from missing
        try:
            await services.create("default", service)
        except errors.StatusError as exc:
            if not errors.is_already_exists(exc):  # another apiserver may have been first
                raise StorageError(ErrorCode.UNAVAILABLE, key, str(exc)) from exc
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": address}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    }  # fmt: skip

    def update(current: Obj | None) -> Obj:
        if current is None:
            return _stamped(endpoints)
        return {**current, "subsets": endpoints["subsets"]}

    await server.storage.guaranteed_update(
        "/registry/endpoints/default/kubernetes", update, ignore_not_found=True
    )
    await _kubernetes_slice(server, address, port)


async def _kubernetes_slice(server: Any, address: str, port: int) -> None:
    """The EndpointSlice `kubernetes` beside those Endpoints (kube-proxy reads slices; the Service has no
    selector, so no controller writes one), as kube-apiserver's endpoint reconciler keeps it."""
    from apimachinery.resources import must_resource

    content = {
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default", "generation": 1,
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        **content,
    }  # fmt: skip

    def update(current: Obj | None) -> Obj:
        if current is None:
            return _stamped(slice_)
        if all(current.get(k) == v for k, v in content.items()):
            return current
        md = current["metadata"]
        return {**current, **content, "metadata": {**md, "generation": int(md.get("generation") or 0) + 1}}

    key = server.store(must_resource("discovery.k8s.io", "endpointslices")).key("default", "kubernetes")
    await server.storage.guaranteed_update(key, update, ignore_not_found=True)


def _first_service_ip(cidr: str) -> str:
    import ipaddress

    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)
