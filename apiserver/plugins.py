"""The request pipeline's plugins, in order: the one place that lists them (DESIGN.md section 11).

    authenticators        x509 client certificates, --token-auth-file, ServiceAccount tokens, bootstrap tokens
    authorizers           system:masters, then --authorization-mode in the order given (Node, RBAC; AlwaysAllow
                          only when asked for)
    mutating admission    ServiceAccount (default account, token volume), DefaultStorageClass (claims),
                          CSRRequester (a CSR's spec.username is its creator)
    validating admission  NodeRestriction, PodSecurity (--pod-security-default, exempt namespaces),
                          DenyServiceExternalIPs (unless --allow-service-external-ips), RBAC escalation (no
                          granting what one does not hold), CertificateApproval, CertificateSigning and
                          CertificateSubjectRestriction (CSRs: approve/sign on the signer; no system:masters)

To add a plugin: write a small class (admission: `admit` or `validate`, see apiserver/admission/__init__.py;
authorizer: `authorize`, see apiserver/auth/authorizer.py) and list it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apiserver import admission
from apiserver.admission.certificates import (
    CertificateApproval,
    CertificateSigning,
    CertificateSubjectRestriction,
    CSRRequester,
)
from apiserver.admission.defaultstorageclass import DefaultStorageClass
from apiserver.admission.externalips import DenyServiceExternalIPs
from apiserver.admission.noderestriction import NodeRestriction
from apiserver.admission.podsecurity import PodSecurity, Policy
from apiserver.admission.rbac_escalation import RBACEscalation
from apiserver.admission.serviceaccount import ServiceAccountAdmission
from apiserver.auth import authenticators, authorizer
from apiserver.auth.bootstraptokens import BootstrapTokens
from apiserver.auth.node import NodeAuthorizer
from apiserver.auth.rbac import RBACAuthorizer
from apiserver.auth.roles_components import NODE

if TYPE_CHECKING:
    from apiserver.server import APIServer

AUTHORIZATION_MODES = ("Node", "RBAC", "AlwaysAllow", "AlwaysDeny")


def authenticator_chain(server: APIServer) -> authenticators.Chain:
    chain: list[authenticators.Authenticator] = [authenticators.X509()]
    if server.token_file is not None:
        chain.append(server.token_file)
    if server.sa_authenticator is not None:
        chain.append(server.sa_authenticator)
    chain.append(BootstrapTokens(server.lookups.secret))
    return authenticators.Chain(chain)


def authorizer_chain(server: APIServer, modes: tuple[str, ...]) -> authorizer.Chain:
    chain: list[authorizer.Authorizer] = [authorizer.PrivilegedGroups(server.privileged_groups)]
    for mode in modes:
        if mode == "Node":
            chain.append(
                NodeAuthorizer(server.lookups.pods, server.lookups.claim, NODE, server.lookups.volume)
            )
        elif mode == "RBAC":
            assert server.rbac is not None
            chain.append(server.rbac)
        elif mode == "AlwaysAllow":
            chain.append(authorizer.AlwaysAllow())
        elif mode == "AlwaysDeny":
            chain.append(authorizer.AlwaysDeny())
        else:
            raise ValueError(f"unknown authorization mode {mode!r} (known: {', '.join(AUTHORIZATION_MODES)})")
    return authorizer.Chain(chain)


def rbac_authorizer(server: APIServer) -> RBACAuthorizer:
    return RBACAuthorizer(server.rbac_caches)


def admission_chain(server: APIServer) -> admission.Chain:
    mutating: list[admission.MutatingPlugin] = [
        ServiceAccountAdmission(
            server.lookups.service_account, server.lookups.create_default_service_account
        ),
        DefaultStorageClass(server.lookups.storage_classes),
        CSRRequester(),
    ]
    validating: list[admission.ValidatingPlugin] = [
        NodeRestriction(server.lookups.pod, server.lookups.node),
        PodSecurity(
            server.lookups.namespace,
            server.lookups.pods,
            defaults=Policy.uniform(server.options.pod_security_default),
            exempt_namespaces=server.options.pod_security_exempt_namespaces,
        ),
    ]
    authorize = server.auth.authorizer.authorize
    validating += [
        CertificateApproval(authorize),
        CertificateSigning(authorize),
        CertificateSubjectRestriction(),
    ]
    if not server.options.allow_service_external_ips:
        validating.append(DenyServiceExternalIPs())
    if server.rbac is not None:
        validating.append(
            RBACEscalation(server.auth.authorizer, server.rbac.rules_for, server.rbac_caches.role_rules)
        )
    return admission.Chain(mutating, validating)
