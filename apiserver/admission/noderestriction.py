"""NodeRestriction (k8s.io/kubernetes `plugin/pkg/admission/noderestriction`): a kubelet changes only what is its
own. The Node authorizer lets every node write nodes, pod statuses and leases; this plugin narrows each write to
the node's own objects:

* its own Node only, without changing its taints or setting node-restriction.kubernetes.io/ or unknown
  kubernetes.io / k8s.io labels;
* the status of pods bound to it (labels unchanged), deleting and evicting pods bound to it, and creating
  only mirror pods (bound to itself, owned by its Node, referring to no secret, configmap, claim or
  service account);
* its own Lease in kube-node-lease;
* tokens only for a ServiceAccount of a pod bound to it, and bound to that pod;
* on a PersistentVolume pinned to it (which the Node authorizer lets it update), only the local-path
  provisioner's finalizer, nothing else.

Messages are Kubernetes'.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from apimachinery.resources import ResourceInfo
from apimachinery.storage import LOCAL_PATH_FINALIZER, node_of
from apimachinery.user import UserInfo, node_name
from apiserver.admission import Attributes, forbidden
from apiserver.auth.node import LEASE_NAMESPACE, references

Obj = dict[str, Any]
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# Labels a kubelet may set on its Node (kubelet's own well-known labels).
KUBELET_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
    }
)
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
_HANDLED = {("", "pods"), ("", "nodes"), ("", "serviceaccounts"), ("coordination.k8s.io", "leases"),
            ("", "persistentvolumeclaims"), ("", "persistentvolumes")}  # fmt: skip


class NodeRestriction:
    def __init__(
        self,
        get_pod: Callable[[str, str], Awaitable[Obj | None]],
        get_node: Callable[[str], Awaitable[Obj | None]],
    ) -> None:
        self.get_pod = get_pod
        self.get_node = get_node

    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return node_name(user) is not None and (info.group, info.resource) in _HANDLED

    async def validate(self, a: Attributes) -> None:
        node = node_name(a.user)
        if node is None:
            return
        if not node:
            raise forbidden(a, f'could not determine node from user "{a.user.name}"')
        resource = (a.info.group, a.info.resource)
        if resource == ("", "pods"):
            await self._pod(node, a)
        elif resource == ("", "nodes"):
            self._node(node, a)
        elif resource == ("", "serviceaccounts"):
            await self._token(node, a)
        elif resource == ("coordination.k8s.io", "leases"):
            self._lease(node, a)
        elif resource == ("", "persistentvolumeclaims") and a.subresource != "status":
            raise forbidden(a, "may only update PVC status")
        elif resource == ("", "persistentvolumes"):
            self._volume(node, a)

    def _volume(self, node: str, a: Attributes) -> None:
        """Only the local-path finalizer may change, on a volume pinned to this node."""
        old, new = a.old or {}, a.obj or {}
        if a.operation != "UPDATE" or a.subresource or node_of(old) != node:
            raise forbidden(a, f'node "{node}" may only update local volumes pinned to itself')
        old_md, new_md = old.get("metadata") or {}, new.get("metadata") or {}
        changed = set(old_md.get("finalizers") or []) ^ set(new_md.get("finalizers") or [])
        same = all(old_md.get(k) == new_md.get(k) for k in ("labels", "annotations", "ownerReferences"))
        if changed - {LOCAL_PATH_FINALIZER} or not same or old.get("spec") != new.get("spec"):
            raise forbidden(a, f'node "{node}" may only add or remove the {LOCAL_PATH_FINALIZER} finalizer')

    # ---- pods ----------------------------------------------------------------------------------------------

    async def _pod(self, node: str, a: Attributes) -> None:
        if a.subresource == "":
            if a.operation == "CREATE":
                await self._mirror_pod(node, a)
            elif a.operation == "DELETE":
                if ((a.old or {}).get("spec") or {}).get("nodeName") != node:
                    raise forbidden(a, f'node "{node}" can only delete pods with spec.nodeName set to itself')
            else:
                raise forbidden(
                    a,
                    f'unexpected operation "{a.operation}", node "{node}" can only create and delete mirror pods',
                )
        elif a.subresource == "status":
            if a.operation != "UPDATE":
                raise forbidden(a, f'unexpected operation "{a.operation}"')
            old, new = a.old or {}, a.obj or {}
            if (old.get("spec") or {}).get("nodeName") != node:
                raise forbidden(
                    a, f'node "{node}" can only update pod status for pods with spec.nodeName set to itself'
                )
            if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
                raise forbidden(a, f'node "{node}" cannot update labels through pod status')
        elif a.subresource == "eviction":
            pod = await self.get_pod(a.namespace, a.name)
            if pod is None:
                return  # the eviction answers 404 itself
            if (pod.get("spec") or {}).get("nodeName") != node:
                raise forbidden(a, f"node {node} can only evict pods with spec.nodeName set to itself")
        else:
            raise forbidden(
                a, f"unexpected pod subresource \"{a.subresource}\", only 'status' and 'eviction' are allowed"
            )

    async def _mirror_pod(self, node: str, a: Attributes) -> None:
        pod = a.obj or {}
        md = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        if MIRROR_ANNOTATION not in (md.get("annotations") or {}):
            raise forbidden(
                a,
                f'pod does not have "{MIRROR_ANNOTATION}" annotation, node "{node}" can only create mirror pods',
            )
        if spec.get("nodeName") != node:
            raise forbidden(a, f'node "{node}" can only create pods with spec.nodeName set to itself')
        owners = md.get("ownerReferences") or []
        if len(owners) != 1:
            detail = "a single owner reference" if owners else "an owner reference"
            raise forbidden(a, f'node "{node}" can only create pods with {detail} set to itself')
        owner = owners[0]
        if owner.get("apiVersion") != "v1" or owner.get("kind") != "Node" or owner.get("name") != node:
            raise forbidden(a, f'node "{node}" can only create pods with an owner reference set to itself')
        if owner.get("controller") is not True:
            raise forbidden(
                a, f'node "{node}" can only create pods with a controller owner reference set to itself'
            )
        if owner.get("blockOwnerDeletion") is True:
            raise forbidden(a, f'node "{node}" must not set blockOwnerDeletion on an owner reference')
        node_obj = await self.get_node(node)
        node_uid = ((node_obj or {}).get("metadata") or {}).get("uid")
        if owner.get("uid") != node_uid:
            raise forbidden(a, f"node {node} UID mismatch: expected {owner.get('uid')} got {node_uid}")
        if spec.get("serviceAccountName"):
            raise forbidden(a, f'node "{node}" can not create pods that reference a service account')
        refs = references(pod)
        for resource, what in (("secrets", "secrets"), ("configmaps", "configmaps"),
                               ("persistentvolumeclaims", "persistentvolumeclaims")):  # fmt: skip
            if refs[resource]:
                raise forbidden(a, f'node "{node}" can not create pods that reference {what}')

    # ---- nodes, leases, tokens -----------------------------------------------------------------------------

    def _node(self, node: str, a: Attributes) -> None:
        requested = a.name or str(((a.obj or {}).get("metadata") or {}).get("name") or "")
        if requested != node:
            raise forbidden(a, f'node "{node}" is not allowed to modify node "{requested}"')
        new_labels = ((a.obj or {}).get("metadata") or {}).get("labels") or {}
        if a.operation == "CREATE":
            bad = forbidden_labels(changed_labels(new_labels, {}))
            if bad:
                raise forbidden(
                    a, f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}'
                )
        elif a.operation == "UPDATE":
            old = a.old or {}
            if ((a.obj or {}).get("spec") or {}).get("taints") != (old.get("spec") or {}).get("taints"):
                raise forbidden(a, f'node "{node}" is not allowed to modify taints')
            bad = forbidden_labels(
                changed_labels(new_labels, (old.get("metadata") or {}).get("labels") or {})
            )
            if bad:
                raise forbidden(a, f"is not allowed to modify labels: {', '.join(bad)}")

    def _lease(self, node: str, a: Attributes) -> None:
        if a.namespace != LEASE_NAMESPACE:
            raise forbidden(a, f'can only access leases in the "{LEASE_NAMESPACE}" system namespace')
        name = a.name if a.operation != "CREATE" else str(((a.obj or {}).get("metadata") or {}).get("name"))
        if name != node:
            raise forbidden(a, "can only access node lease with the same name as the requesting node")

    async def _token(self, node: str, a: Attributes) -> None:
        if a.operation != "CREATE" or a.subresource != "token":
            return
        ref = ((a.obj or {}).get("spec") or {}).get("boundObjectRef") or {}
        if ref.get("apiVersion") != "v1" or ref.get("kind") != "Pod" or not ref.get("name"):
            raise forbidden(a, "node requested token not bound to a pod")
        if not ref.get("uid"):
            raise forbidden(a, "node requested token with a pod binding without a uid")
        pod = await self.get_pod(a.namespace, str(ref["name"]))
        if pod is None:
            raise forbidden(a, "node requested token bound to a pod that does not exist")
        if ref["uid"] != pod["metadata"].get("uid"):
            raise forbidden(
                a,
                f"the UID in the bound object reference ({ref['uid']}) does not match the UID in record. "
                "The object might have been deleted and then recreated",
            )
        if (pod.get("spec") or {}).get("nodeName") != node:
            raise forbidden(a, "node requested token bound to a pod scheduled on a different node")


def changed_labels(new: dict[str, str], old: dict[str, str]) -> set[str]:
    return {k for k in new.keys() | old.keys() if new.get(k) != old.get(k) or (k in new) != (k in old)}


def forbidden_labels(keys: set[str]) -> list[str]:
    bad = []
    for key in keys:
        namespace = key.split("/", 1)[0] if "/" in key else ""
        if namespace == "node-restriction.kubernetes.io" or namespace.endswith(
            ".node-restriction.kubernetes.io"
        ):
            bad.append(key)
        elif _kubernetes_namespace(namespace) and not _kubelet_label(key, namespace):
            bad.append(key)
    return sorted(set(bad))


def _kubernetes_namespace(namespace: str) -> bool:
    return namespace in ("kubernetes.io", "k8s.io") or namespace.endswith((".kubernetes.io", ".k8s.io"))


def _kubelet_label(key: str, namespace: str) -> bool:
    if key in KUBELET_LABELS:
        return True
    return any(namespace == n or namespace.endswith("." + n) for n in KUBELET_LABEL_NAMESPACES)
