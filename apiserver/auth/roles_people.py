"""The bootstrap roles for people: the rules aggregated into view, edit and admin (bootstrappolicy's
aggregate-to-* roles). Reconciled by apiserver/auth/bootstrap.py."""

from __future__ import annotations

from apiserver.auth.policy import READ, READ_WRITE, WRITE, rule

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
