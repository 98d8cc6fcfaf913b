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
from typing import Any

from apimachinery.errors import StatusError, is_already_exists, is_not_found
from apimachinery.resources import must_resource
from controller_manager.base import NAMESPACES, Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SERVICEACCOUNTS = must_resource("", "serviceaccounts")
CONFIGMAPS = must_resource("", "configmaps")
DEFAULT = "default"
ROOT_CA = "kube-root-ca.crt"
DESCRIPTION = "kubernetes.io/description"


def _namespace_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _active(ns: Obj | None) -> bool:
    return ns is not None and not (ns.get("metadata") or {}).get("deletionTimestamp")


class ServiceAccountController(Controller):
    name = "serviceaccount"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.factory.informer(NAMESPACES)
        self.accounts = ctx.factory.informer(SERVICEACCOUNTS, field_selector=f"metadata.name={DEFAULT}")
        self.namespaces.add_handler(lambda ns: self.enqueue(ns["metadata"]["name"]), None, None)
        self.accounts.add_handler(None, None, lambda sa: self.enqueue(_namespace_of(sa)))

    async def reconcile(self, key: str) -> float | None:
        if not _active(self.namespaces.store.get(key)) or self.accounts.store.get(f"{key}/{DEFAULT}"):
            return None
        try:
            await self.client.create(SERVICEACCOUNTS, {"metadata": {"name": DEFAULT}}, key)
            log.info("created the default service account", extra={"namespace": key})
        except StatusError as err:
            if not (is_already_exists(err) or is_not_found(err)):  # not found: the namespace just went
                raise
        return None


class RootCAPublisher(Controller):
    name = "root-ca-cert-publisher"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.ca = ctx.options.root_ca_pem
        self.namespaces = ctx.factory.informer(NAMESPACES)
        self.configmaps = ctx.factory.informer(CONFIGMAPS, field_selector=f"metadata.name={ROOT_CA}")
        self.namespaces.add_handler(lambda ns: self.enqueue(ns["metadata"]["name"]), None, None)
        self.configmaps.add_handler(
            None,
            lambda _old, new: self.enqueue(_namespace_of(new)),
            lambda cm: self.enqueue(_namespace_of(cm)),
        )

    def wanted(self) -> Obj:
        return {
            "metadata": {"name": ROOT_CA, "annotations": {DESCRIPTION: _ROOT_CA_DESCRIPTION}},
            "data": {"ca.crt": self.ca},
        }

    async def reconcile(self, key: str) -> float | None:
        if not self.ca or not _active(self.namespaces.store.get(key)):
            return None
        current = self.configmaps.store.get(f"{key}/{ROOT_CA}")
        try:
            if current is None:
                await self.client.create(CONFIGMAPS, self.wanted(), key)
            elif (current.get("data") or {}) != {"ca.crt": self.ca}:
                await self.client.patch(CONFIGMAPS, ROOT_CA, {"data": {"ca.crt": self.ca}}, key)
        except StatusError as err:
            if not (is_already_exists(err) or is_not_found(err)):
                raise
        return None


_ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the "
    "internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes "
    "clusters."
)
