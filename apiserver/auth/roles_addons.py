"""The bootstrap roles of the add-ons: kube-dns and metrics-server (cluster-wide, and what each publishes in
kube-system), and who may read the metrics. Reconciled by apiserver/auth/bootstrap.py."""

from __future__ import annotations

from apiserver.auth.policy import READ, rule

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
