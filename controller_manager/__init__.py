"""kube-controller-manager: the control loops that keep the cluster's objects at their desired state.

Controllers (one module each, informers -> handlers that enqueue keys -> `run(workers)` -> `reconcile(key)`):
    replicaset, deployment, endpoints, node_lifecycle, node_ipam, garbage_collector, namespace
Their decisions, as pure functions with unit tests:
    rollout (maxSurge/maxUnavailable arithmetic), deployment_status (status and conditions), revisions
    (revision annotations, history, rollback), hashing (pod-template-hash), replicaset_util, endpoints_util,
    taints, cidr, expectations, podutil
Wiring: base (Controller, Context, Options, metrics), manager (selection, leader election), __main__ (flags).
"""
