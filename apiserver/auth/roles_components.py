"""The bootstrap roles of kubelite's own components, each only what its code does: the kubelets (the Node
authorizer's rules), the scheduler, the controller-manager, kube-proxy, the network policy agent, and the
apiserver's client of the kubelet API. Reconciled by apiserver/auth/bootstrap.py."""

from __future__ import annotations

from apiserver.auth.policy import EVENTS, READ, REVIEWS, rule

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
