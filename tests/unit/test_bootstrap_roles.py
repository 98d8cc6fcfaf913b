"""Each component's bootstrap role covers every request its code makes (a request its role does not allow is a
controller that silently stops working). The tables list the requests as the components make them; the
integration suites check the same at run time (no 403 in a component's log: tests.harness.forbidden_lines)."""

from __future__ import annotations

import pytest

from apiserver.auth import bootstrap, policy, roles_addons, roles_components
from apiserver.auth.rbac import covers

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete")

# (controller, verbs, API group, resources) for kube-controller-manager's controllers.
CONTROLLER_MANAGER_CALLS = [
    ("leader election", ("get", "create", "update"), "coordination.k8s.io", ("leases",)),
    ("events", ("create", "update", "patch"), "", ("events",)),
    ("replicaset", READ, "apps", ("replicasets",)),
    ("replicaset", ("update",), "apps", ("replicasets/status",)),
    ("replicaset", (*READ, "create", "delete", "patch"), "", ("pods",)),
    ("deployment", (*READ, "update", "patch"), "apps", ("deployments",)),
    ("deployment", ("update",), "apps", ("deployments/status",)),
    ("deployment", (*READ, *WRITE), "apps", ("replicasets",)),
    ("endpoints", READ, "", ("services", "pods")),
    ("endpoints", (*READ, *WRITE), "", ("endpoints",)),
    ("endpointslice", READ, "", ("services", "pods", "nodes")),
    ("endpointslice", (*READ, *WRITE), "discovery.k8s.io", ("endpointslices",)),
    ("node-lifecycle", (*READ, "update", "patch"), "", ("nodes", "nodes/status")),
    ("node-lifecycle", READ, "coordination.k8s.io", ("leases",)),
    ("node-lifecycle", ("update", "patch"), "", ("pods/status",)),
    ("node-lifecycle", ("create",), "", ("pods/eviction",)),
    ("node-ipam", ("get", "list", "watch", "patch", "update"), "", ("nodes",)),
    ("garbage-collector", (*READ, "patch", "update", "delete"), "*", ("*",)),
    ("namespace", (*READ, "update"), "", ("namespaces", "namespaces/finalize", "namespaces/status")),
    ("namespace", ("list", "delete", "deletecollection"), "apps", ("deployments", "statefulsets")),
    (
        "replicationcontroller",
        (*READ, "update"),
        "",
        ("replicationcontrollers", "replicationcontrollers/status"),
    ),
    ("daemonset", (*READ, "update"), "apps", ("daemonsets", "daemonsets/status")),
    ("daemonset", (*READ, *WRITE), "apps", ("controllerrevisions",)),
    ("daemonset", (*READ, "create", "delete", "patch"), "", ("pods",)),
    ("statefulset", (*READ, "update"), "apps", ("statefulsets", "statefulsets/status")),
    ("statefulset", (*READ, *WRITE), "apps", ("controllerrevisions",)),
    ("statefulset", ("get", "create"), "", ("persistentvolumeclaims",)),
    ("job", (*READ, "update", "patch"), "batch", ("jobs", "jobs/status", "jobs/finalizers")),
    ("job", (*READ, "create", "delete", "patch", "update"), "", ("pods",)),
    ("cronjob", (*READ, "update"), "batch", ("cronjobs", "cronjobs/status")),
    ("cronjob", (*READ, "create", "delete"), "batch", ("jobs",)),
    ("ttl-after-finished", (*READ, "delete"), "batch", ("jobs",)),
    ("serviceaccount", READ, "", ("namespaces",)),
    ("serviceaccount", (*READ, "create"), "", ("serviceaccounts",)),
    ("root-ca-cert-publisher", (*READ, "create", "update"), "", ("configmaps",)),
    (
        "clusterrole-aggregation",
        (*READ, "update", "escalate"),
        "rbac.authorization.k8s.io",
        ("clusterroles",),
    ),
]

SCHEDULER_CALLS = [
    ("leader election", ("create",), "coordination.k8s.io", ("leases",)),
    ("informers", READ, "", ("nodes", "pods", "namespaces", "services")),
    ("bind", ("create",), "", ("pods/binding",)),
    ("status", ("patch", "update"), "", ("pods/status",)),
    ("events", ("create", "patch"), "", ("events",)),
]

# kube-proxy reads EndpointSlices by default (--endpoints-source endpoints: Endpoints).
NODE_PROXIER_CALLS = [
    ("informers", ("list", "watch"), "", ("services", "endpoints")),
    ("informers", ("list", "watch"), "discovery.k8s.io", ("endpointslices",)),
    ("its node", ("get", "list", "watch"), "", ("nodes",)),
    ("events", ("create", "patch"), "", ("events",)),
]

# kube-dns: its informers everywhere (the ClusterRole system:kube-dns) ...
KUBE_DNS_CALLS = [
    ("informers", ("list", "watch"), "", ("services", "pods")),
    ("informers", ("list", "watch"), "discovery.k8s.io", ("endpointslices",)),
]
# ... and, in kube-system (the Role system:kube-dns), its publisher: (who, verbs, group, resources, name).
KUBE_DNS_PUBLISH_CALLS = [
    ("its Service, when missing", ("create",), "", ("services",), ""),
    ("its Endpoints", ("create",), "", ("endpoints",), ""),
    ("its Endpoints", ("list", "watch", "update"), "", ("endpoints",), "kube-dns"),
    ("its EndpointSlice", ("create",), "discovery.k8s.io", ("endpointslices",), ""),
    ("its EndpointSlice", ("update",), "discovery.k8s.io", ("endpointslices",), "kube-dns"),
]
# kube-netpol (netpol/agent.py): its three informers, and Events on policies with skipped entries.
NETPOL_AGENT_CALLS = [
    ("informers", ("list", "watch"), "networking.k8s.io", ("networkpolicies",)),
    ("informers", ("list", "watch"), "", ("pods", "namespaces")),
    ("events", ("create", "patch"), "", ("events",)),
]


def _missing(rules: list[dict], calls: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]]) -> list[str]:
    missing = []
    for who, verbs, group, resources in calls:
        for verb in verbs:
            for resource in resources:
                if not covers(rules, policy.rule(verb, group, resource)):
                    missing.append(f"{who}: {verb} {resource}.{group or 'core'}")
    return missing


@pytest.mark.parametrize(
    ("rules", "calls"),
    [
        (roles_components.CONTROLLER_MANAGER, CONTROLLER_MANAGER_CALLS),
        (roles_components.SCHEDULER, SCHEDULER_CALLS),
        (roles_components.NODE_PROXIER, NODE_PROXIER_CALLS),
        (roles_addons.KUBE_DNS, KUBE_DNS_CALLS),
        (roles_components.NETPOL_AGENT, NETPOL_AGENT_CALLS),
    ],
    ids=[
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:node-proxier",
        "system:kube-dns",
        "system:kube-netpol",
    ],
)
def test_each_component_role_covers_its_calls(rules: list[dict], calls: list) -> None:
    assert _missing(rules, calls) == []


def test_the_tables_can_fail() -> None:
    """A request no role grants is reported (so the tables above are checked, not assumed)."""
    assert _missing(roles_components.NODE_PROXIER, [("x", ("create",), "", ("pods",))]) == [
        "x: create pods.core"
    ]


def _publish_rules(namespace: str) -> list[dict]:
    """The rules the ServiceAccount kube-system/kube-dns holds in `namespace` through the bootstrap RoleBindings."""
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in bootstrap.namespace_roles()}
    rules: list[dict] = []
    for rb in bootstrap.namespace_role_bindings():
        md = rb["metadata"]
        if md["namespace"] == namespace and {"kind": "ServiceAccount", "name": "kube-dns",
                                             "namespace": "kube-system"} in rb["subjects"]:  # fmt: skip
            rules += roles[(namespace, rb["roleRef"]["name"])]["rules"]
    return rules


def test_kube_dns_publishes_in_kube_system_only_and_only_its_own_objects() -> None:
    rules = _publish_rules("kube-system")
    for who, verbs, group, resources, name in KUBE_DNS_PUBLISH_CALLS:
        for verb in verbs:
            for resource in resources:
                wanted = policy.rule(verb, group, resource, names=(name,) if name else ())
                assert covers(rules, wanted), f"{who}: {verb} {resource}"
    assert _publish_rules("default") == []
    # Updates are held to its own objects; the Service it never changes; nothing is deleted.
    for verb, group, resource in [("update", "", "endpoints"), ("update", "discovery.k8s.io", "endpointslices"),
                                  ("update", "", "services"), ("delete", "", "endpoints"), ("patch", "", "endpoints"),
                                  ("get", "", "secrets"), ("list", "", "endpoints")]:  # fmt: skip
        assert not covers(rules, policy.rule(verb, group, resource, names=("coredns",))), (verb, resource)
    assert not covers(roles_addons.KUBE_DNS, policy.rule("list", "", "secrets"))


def test_the_netpol_agent_role_is_only_its_calls() -> None:
    """Least privilege: the agent never writes what it enforces, nor reads anything beyond its informers."""
    for verb in ("get", "create", "update", "patch", "delete"):
        assert not covers(
            roles_components.NETPOL_AGENT, policy.rule(verb, "networking.k8s.io", "networkpolicies")
        )
    for verb in ("get", "list", "watch"):
        assert not covers(roles_components.NETPOL_AGENT, policy.rule(verb, "", "secrets"))
    assert not covers(roles_components.NETPOL_AGENT, policy.rule("update", "", "pods"))
