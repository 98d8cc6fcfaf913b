"""Each component's bootstrap role covers every request its code makes (a request its role does not allow is a
controller that silently stops working). The tables list the requests as the components make them; the
integration suites check the same at run time (no 403 in a component's log: tests.harness.forbidden_lines)."""

from __future__ import annotations

import pytest

from apiserver.auth import bootstrap
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
                if not covers(rules, bootstrap.rule(verb, group, resource)):
                    missing.append(f"{who}: {verb} {resource}.{group or 'core'}")
    return missing


@pytest.mark.parametrize(
    ("rules", "calls"),
    [
        (bootstrap.CONTROLLER_MANAGER, CONTROLLER_MANAGER_CALLS),
        (bootstrap.SCHEDULER, SCHEDULER_CALLS),
        (bootstrap.NODE_PROXIER, NODE_PROXIER_CALLS),
        (bootstrap.NETPOL_AGENT, NETPOL_AGENT_CALLS),
    ],
    ids=[
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:node-proxier",
        "system:kube-netpol",
    ],
)
def test_each_component_role_covers_its_calls(rules: list[dict], calls: list) -> None:
    assert _missing(rules, calls) == []


def test_the_tables_can_fail() -> None:
    """A request no role grants is reported (so the tables above are checked, not assumed)."""
    assert _missing(bootstrap.NODE_PROXIER, [("x", ("create",), "", ("pods",))]) == ["x: create pods.core"]


def test_the_netpol_agent_role_is_only_its_calls() -> None:
    """Least privilege: the agent never writes what it enforces, nor reads anything beyond its informers."""
    for verb in ("get", "create", "update", "patch", "delete"):
        assert not covers(
            bootstrap.NETPOL_AGENT, bootstrap.rule(verb, "networking.k8s.io", "networkpolicies")
        )
    for verb in ("get", "list", "watch"):
        assert not covers(bootstrap.NETPOL_AGENT, bootstrap.rule(verb, "", "secrets"))
    assert not covers(bootstrap.NETPOL_AGENT, bootstrap.rule("update", "", "pods"))
