"""Two controllers that give every namespace what its pods need to reach the API:

* serviceaccount: a `default` ServiceAccount in every namespace (kube-controller-manager's serviceaccount
  controller), re-created if deleted;
* root-ca-cert-publisher: the ConfigMap `kube-root-ca.crt` (key `ca.crt`: the cluster CA from --root-ca-file) in
  every namespace, which the pods' kube-api-access volumes project as ca.crt.

Both reconcile one namespace key at a time from the caches: a terminating namespace is left alone, a missing
object is created (AlreadyExists means another writer was first: done), a changed CA is written back.
"""

from __future__ import annotations

import logging

from apimachinery.errors import StatusError, is_already_exists, is_not_found
from apimachinery.resources import ResourceInfo, must_resource
from controller_manager.base import CONFIGMAPS, NAMESPACES, Context, Controller
from controller_manager.podutil import Obj

log = logging.getLogger(__name__)

SERVICEACCOUNTS = must_resource("", "serviceaccounts")
DEFAULT = "default"
ROOT_CA = "kube-root-ca.crt"
DESCRIPTION = "kubernetes.io/description"


def _active(ns: Obj | None) -> bool:
    return ns is not None and not (ns.get("metadata") or {}).get("deletionTimestamp")


class PerNamespaceObject(Controller):
    """One object, `object_name` of `resource`, in every namespace that is not terminating: created when it is
    missing (so re-created when deleted), written back when `stale`. Keyed by namespace."""

    resource: ResourceInfo
    object_name: str

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = self.watch(NAMESPACES, self.enqueue_object, on_update=None, on_delete=None)
        self.objects = self.watch(
            self.resource,
            on_update=lambda _old, new: self._enqueue_namespace(new),
            on_delete=self._enqueue_namespace,
            field_selector=f"metadata.name={self.object_name}",
        )

    def _enqueue_namespace(self, obj: Obj) -> None:
        self.enqueue(str((obj.get("metadata") or {}).get("namespace") or ""))

    def wanted(self) -> Obj:
        """The object to create."""
        return {"metadata": {"name": self.object_name}}

    def stale(self, current: Obj) -> Obj | None:
        """The merge patch that brings `current` up to date; None when it is."""
        return None

    async def reconcile(self, key: str) -> float | None:
        if not _active(self.namespaces.store.get(key)):
            return None
        current = self.objects.store.get(f"{key}/{self.object_name}")
        try:
            if current is None:
                await self.client.create(self.resource, self.wanted(), key)
                log.info(
                    "created", extra={"namespace": key, "name": self.object_name, "controller": self.name}
                )
            elif (patch := self.stale(current)) is not None:
                await self.client.patch(self.resource, self.object_name, patch, key)
        except StatusError as err:
            # AlreadyExists: another writer was first; NotFound: the namespace just went.
            if not (is_already_exists(err) or is_not_found(err)):
                raise
        return None


class ServiceAccountController(PerNamespaceObject):
    name = "serviceaccount"
    resource = SERVICEACCOUNTS
    object_name = DEFAULT


class RootCAPublisher(PerNamespaceObject):
    name = "root-ca-cert-publisher"
    resource = CONFIGMAPS
    object_name = ROOT_CA

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.ca = ctx.options.root_ca_pem

    def wanted(self) -> Obj:
        return {
            "metadata": {"name": ROOT_CA, "annotations": {DESCRIPTION: _ROOT_CA_DESCRIPTION}},
            "data": {"ca.crt": self.ca},
        }

    def stale(self, current: Obj) -> Obj | None:
        data = {"ca.crt": self.ca}
        return None if (current.get("data") or {}) == data else {"data": data}

    async def reconcile(self, key: str) -> float | None:
        if not self.ca:
            return None  # no --root-ca-file: nothing to publish
        return await super().reconcile(key)


_ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the "
    "internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes "
    "clusters."
)
