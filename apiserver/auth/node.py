"""The Node authorizer (k8s.io/kubernetes `plugin/pkg/auth/authorizer/node`): what a kubelet may do.

A kubelet is the user system:node:<name> in the group system:nodes. It may:
* read a Secret, ConfigMap, PersistentVolumeClaim (and its PersistentVolume) only when a pod bound to it
  refers to it (volumes, env, envFrom, image pull secrets, projected sources);
* get, update and patch a local PersistentVolume pinned to it by nodeAffinity (kubelite's local-path volumes:
  the kubelet holds a finalizer while the directory exists; NodeRestriction lets it change nothing else);
* create a token only for a ServiceAccount a pod bound to it runs as (NodeRestriction then checks the binding);
* get, create, update, patch and delete only its own Lease in kube-node-lease;
* list and watch pods only with the field selector spec.nodeName=<itself>, and get a pod bound to it;
* everything else the node rules (system:node's rules) allow: create/update its Node and the status of pods,
  read services, write events. NodeRestriction narrows those writes to its own objects.

Unlike Kubernetes 1.32 with AuthorizeNodeWithSelectors, a kubelet here may list and watch every Node: the kubelet
routes the other nodes' pod CIDRs (it is also kubelite's network plugin), so it needs their podCIDRs.

Relations are read from the apiserver's pod cache at the time of the request (upstream keeps a graph fed by
informers; both are eventually consistent with storage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from apimachinery.storage import node_of
from apimachinery.user import node_name
from apiserver.auth.authorizer import Attributes, Decision
from apiserver.auth.rbac import rule_allows

Obj = dict[str, Any]
LEASE_NAMESPACE = "kube-node-lease"


def references(pod: Obj) -> dict[str, set[str]]:
    """Names of the secrets, configmaps, persistentvolumeclaims and serviceaccounts a pod refers to."""
    spec = pod.get("spec") or {}
    refs: dict[str, set[str]] = {
        k: set() for k in ("secrets", "configmaps", "persistentvolumeclaims", "serviceaccounts")
    }
    refs["serviceaccounts"].add(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    for ref in spec.get("imagePullSecrets") or []:
        refs["secrets"].add((ref or {}).get("name") or "")
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or []),
                      *(spec.get("ephemeralContainers") or [])]:  # fmt: skip
        for env in container.get("env") or []:
            source = (env or {}).get("valueFrom") or {}
            refs["secrets"].add((source.get("secretKeyRef") or {}).get("name") or "")
            refs["configmaps"].add((source.get("configMapKeyRef") or {}).get("name") or "")
        for env_from in container.get("envFrom") or []:
            refs["secrets"].add(((env_from or {}).get("secretRef") or {}).get("name") or "")
            refs["configmaps"].add(((env_from or {}).get("configMapRef") or {}).get("name") or "")
    for volume in spec.get("volumes") or []:
        volume = volume or {}
        refs["secrets"].add((volume.get("secret") or {}).get("secretName") or "")
        refs["configmaps"].add((volume.get("configMap") or {}).get("name") or "")
        refs["persistentvolumeclaims"].add((volume.get("persistentVolumeClaim") or {}).get("claimName") or "")
        for source in (volume.get("projected") or {}).get("sources") or []:
            refs["secrets"].add(((source or {}).get("secret") or {}).get("name") or "")
            refs["configmaps"].add(((source or {}).get("configMap") or {}).get("name") or "")
    for names in refs.values():
        names.discard("")
    return refs


class NodeAuthorizer:
    def __init__(
        self,
        pods: Callable[[str], Iterable[Obj]],
        claims: Callable[[str, str], Obj | None],
        rules: list[Obj],
        volumes: Callable[[str], Obj | None] = lambda _name: None,
    ) -> None:
        """`pods(namespace)` yields the pods of a namespace ("" = all) from the cache; `claims(ns, name)` finds a
        PersistentVolumeClaim (None where the kind is not served); `rules` are system:node's; `volumes(name)` finds
        a PersistentVolume."""
        self.pods = pods
        self.claims = claims
        self.rules = rules
        self.volumes = volumes

    def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        node = node_name(attrs.user)
        if node is None:
            return Decision.NO_OPINION, ""
        if not node:
            return Decision.NO_OPINION, f'unknown node for user "{attrs.user.name}"'
        if attrs.resource_request:
            check = self._checks().get((attrs.api_group, attrs.resource))
            if check is not None:
                return check(node, attrs)
        if any(rule_allows(rule, attrs) for rule in self.rules):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""

    def _checks(self) -> dict[tuple[str, str], Callable[[str, Attributes], tuple[Decision, str]]]:
        return {
            ("", "secrets"): self._read_referenced,
            ("", "configmaps"): self._read_referenced,
            ("", "persistentvolumeclaims"): self._claim,
            ("", "persistentvolumes"): self._volume,
            ("", "serviceaccounts"): self._token,
            ("coordination.k8s.io", "leases"): self._lease,
            ("", "pods"): self._pod,
        }

    # ---- the subdivided kinds ------------------------------------------------------------------------------

    def _related(self, node: str, resource: str, namespace: str, name: str) -> bool:
        for pod in self.pods(namespace):
            if (pod.get("spec") or {}).get("nodeName") == node and name in references(pod)[resource]:
                return True
        return False

    def _no_relation(self, node: str) -> tuple[Decision, str]:
        return Decision.NO_OPINION, f"no relationship found between node '{node}' and this object"

    def _read_referenced(self, node: str, a: Attributes) -> tuple[Decision, str]:
        if a.verb not in ("get", "list", "watch"):
            return Decision.NO_OPINION, "can only read resources of this type"
        if a.subresource:
            return Decision.NO_OPINION, "cannot read subresource"
        if not a.namespace:
            return Decision.NO_OPINION, "can only read namespaced object of this type"
        if not a.name:
            return Decision.NO_OPINION, "No Object name found"
        if self._related(node, a.resource, a.namespace, a.name):
            return Decision.ALLOW, ""
        return self._no_relation(node)

    def _claim(self, node: str, a: Attributes) -> tuple[Decision, str]:
        if a.subresource == "status":
            if a.verb not in ("update", "patch"):
                return Decision.NO_OPINION, "can only get/update/patch this type"
        elif a.verb != "get":
            return Decision.NO_OPINION, "can only get individual resources of this type"
        elif a.subresource:
            return Decision.NO_OPINION, "cannot get subresource"
        if not a.name:
            return Decision.NO_OPINION, "No Object name found"
        if self._related(node, "persistentvolumeclaims", a.namespace, a.name):
            return Decision.ALLOW, ""
        return self._no_relation(node)

    def _volume(self, node: str, a: Attributes) -> tuple[Decision, str]:
        if a.verb in ("get", "update", "patch") and not a.subresource and a.name:
            pv = self.volumes(a.name)
            if pv is not None and (pv.get("spec") or {}).get("local") and node_of(pv) == node:
                return Decision.ALLOW, ""
        if a.verb != "get":
            return Decision.NO_OPINION, "can only get individual resources of this type"
        if a.subresource:
            return Decision.NO_OPINION, "cannot get subresource"
        for pod in self.pods(""):
            if (pod.get("spec") or {}).get("nodeName") != node:
                continue
            namespace = pod["metadata"].get("namespace", "")
            for claim_name in references(pod)["persistentvolumeclaims"]:
                claim = self.claims(namespace, claim_name)
                if claim and (claim.get("spec") or {}).get("volumeName") == a.name:
                    return Decision.ALLOW, ""
        return self._no_relation(node)

    def _token(self, node: str, a: Attributes) -> tuple[Decision, str]:
        if a.verb != "create" or not a.name:
            return Decision.NO_OPINION, "can only create tokens for individual service accounts"
        if a.subresource != "token":
            return Decision.NO_OPINION, "can only create token subresource of serviceaccount"
        if self._related(node, "serviceaccounts", a.namespace, a.name):
            return Decision.ALLOW, ""
        return self._no_relation(node)

    def _lease(self, node: str, a: Attributes) -> tuple[Decision, str]:
        if a.verb not in ("get", "create", "update", "patch", "delete"):
            return Decision.NO_OPINION, "can only get, create, update, patch, or delete a node lease"
        if a.namespace != LEASE_NAMESPACE:
            return Decision.NO_OPINION, f'can only access leases in the "{LEASE_NAMESPACE}" system namespace'
        if a.verb != "create" and a.name != node:
            return Decision.NO_OPINION, "can only access node lease with the same name as the requesting node"
        return Decision.ALLOW, ""

    def _pod(self, node: str, a: Attributes) -> tuple[Decision, str]:
        if a.subresource == "":
            if a.verb == "get":
                if not a.name:
                    return Decision.NO_OPINION, "No Object name found"
                return self._own_pod(node, a)
            if a.verb in ("list", "watch"):
                for field, op, value in a.request.field_selector:
                    if field == "spec.nodeName" and op == "=" and value == node:
                        return Decision.ALLOW, ""
                if a.name:
                    return self._own_pod(node, a)
                return Decision.NO_OPINION, "can only list/watch pods with spec.nodeName field selector"
            if a.verb in ("create", "delete"):
                return Decision.ALLOW, ""  # NodeRestriction: mirror pods only, own pods only
        elif a.subresource == "status" and a.verb in ("update", "patch"):
            return Decision.ALLOW, ""  # NodeRestriction: pods bound to this node only
        elif a.subresource == "eviction" and a.verb == "create":
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""

    def _own_pod(self, node: str, a: Attributes) -> tuple[Decision, str]:
        for pod in self.pods(a.namespace):
            md = pod.get("metadata") or {}
            if md.get("name") == a.name and (pod.get("spec") or {}).get("nodeName") == node:
                return Decision.ALLOW, ""
        return self._no_relation(node)
