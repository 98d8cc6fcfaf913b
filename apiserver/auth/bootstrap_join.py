"""The bootstrap roles for machines that join a cluster (upstream's bootstrappolicy, plus the bindings and the
cluster-info Role that `kubeadm init` creates), reconciled at start-up with the rest of apiserver/auth/bootstrap.py
and built with apiserver/auth/policy.py.

    system:node-bootstrapper                                    create and read CSRs (a bootstrap token's user)
    system:certificates.k8s.io:certificatesigningrequests:nodeclient       may have a node client CSR auto-approved
    system:certificates.k8s.io:certificatesigningrequests:selfnodeclient   may have its own renewal auto-approved
    ...:selfnodeserving (kubelite's)                            may have its own serving certificate approved
    system:certificates.k8s.io:<signer>-approver                approve CSRs of that signer (for people or tools)
    system:node-proxier for system:nodes (kubelite's)           kube-proxy on a joined machine uses the node's
                                                                credential
    kube-public Role kubeadm:bootstrap-signer-clusterinfo       anyone, even anonymous, may read cluster-info
"""

from __future__ import annotations

from typing import Any

from apimachinery import bootstraptoken as bt
from apimachinery import user as users
from apimachinery.certificates import KUBE_APISERVER_CLIENT, KUBELET_CLIENT, KUBELET_SERVING
from apiserver.auth.policy import (
    READ,
    binding,
    cluster_role,
    namespace_binding,
    namespace_role,
    rule,
)

Obj = dict[str, Any]
CERTIFICATES = "certificates.k8s.io"
CSRS = "certificatesigningrequests"
NODECLIENT = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
SELFNODECLIENT = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
SELFNODESERVING = "system:certificates.k8s.io:certificatesigningrequests:selfnodeserving"  # kubelite's own
CLUSTER_INFO_ROLE = "kubeadm:bootstrap-signer-clusterinfo"


def _approver(signer: str) -> Obj:
    name = f"system:certificates.k8s.io:{signer.partition('/')[2]}-approver"
    return cluster_role(name, [rule("approve", CERTIFICATES, "signers", names=(signer,))])


def cluster_roles() -> list[Obj]:
    return [
        cluster_role("system:node-bootstrapper", [rule(("create", *READ), CERTIFICATES, CSRS)]),
        cluster_role(NODECLIENT, [rule("create", CERTIFICATES, f"{CSRS}/nodeclient")]),
        cluster_role(SELFNODECLIENT, [rule("create", CERTIFICATES, f"{CSRS}/selfnodeclient")]),
        cluster_role(SELFNODESERVING, [rule("create", CERTIFICATES, f"{CSRS}/selfnodeserving")]),
        _approver(KUBE_APISERVER_CLIENT),
        _approver(KUBELET_CLIENT),
        _approver(KUBELET_SERVING),
    ]


def cluster_role_bindings() -> list[Obj]:
    """kubeadm's: default-node-token bootstrappers may ask for and get node client certificates; nodes renew."""
    return [
        binding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", ("Group", bt.DEFAULT_EXTRA_GROUP)),
        binding("kubeadm:node-autoapprove-bootstrap", NODECLIENT, ("Group", bt.DEFAULT_EXTRA_GROUP)),
        binding("kubeadm:node-autoapprove-certificate-rotation", SELFNODECLIENT, ("Group", users.NODES)),
        binding("kubelite:node-autoapprove-serving", SELFNODESERVING, ("Group", users.NODES)),
        # kube-proxy on a joined machine runs with the node's credential (a node may read what it proxies).
        binding("kubelite:node-proxier", "system:node-proxier", ("Group", users.NODES)),
    ]


def namespace_roles() -> list[Obj]:
    return [
        namespace_role(
            bt.CLUSTER_INFO_NAMESPACE,
            CLUSTER_INFO_ROLE,
            [rule("get", "", "configmaps", names=(bt.CLUSTER_INFO,))],
        )
    ]


def namespace_role_bindings() -> list[Obj]:
    return [
        namespace_binding(
            bt.CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_ROLE, CLUSTER_INFO_ROLE, ("User", users.ANONYMOUS)
        )
    ]
