"""What the authenticators, authorizers and admission plugins read: objects from the apiserver's watch caches
(falling back to storage where a miss matters), behind small callables so those plugins never see a Store.

The caches may lag storage by a few milliseconds. Where a miss would refuse a request wrongly (a ServiceAccount
token presented right after its ServiceAccount was created), the lookup asks storage before answering None.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from apimachinery import errors
from apimachinery.resources import by_resource, must_resource
from apiserver.objectmeta import new_uid, now

if TYPE_CHECKING:
    from apiserver.registry import Store
    from apiserver.server import APIServer

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"


class Lookups:
    def __init__(self, server: APIServer) -> None:
        self.server = server

    def _store(self, group: str, resource: str) -> Store | None:
        info = by_resource(group, resource)
        return self.server.store(info) if info is not None and info.stored else None

    # ---- synchronous, from the caches (authorizers) ------------------------------------------------------

    def pods(self, namespace: str) -> Iterator[Obj]:
        store = self._store("", "pods")
        assert store is not None
        prefix = f"{store.prefix}{namespace}/" if namespace else store.prefix
        for key, obj in list(store.cache.objects.items()):
            if key.startswith(prefix):
                yield obj

    def claim(self, namespace: str, name: str) -> Obj | None:
        store = self._store("", "persistentvolumeclaims")
        return store.cache.get(store.key(namespace, name)) if store is not None else None

    def volume(self, name: str) -> Obj | None:
        store = self._store("", "persistentvolumes")
        return store.cache.get(store.key(None, name)) if store is not None else None

    def storage_classes(self) -> list[Obj]:
        store = self._store("storage.k8s.io", "storageclasses")
        return list(store.cache.objects.values()) if store is not None else []

    # ---- asynchronous, cache then storage (admission, token checks) --------------------------------------

    async def _get(self, group: str, resource: str, namespace: str | None, name: str) -> Obj | None:
        store = self._store(group, resource)
        if store is None:
            return None
        cached = store.cache.get(store.key(namespace, name))
        if cached is not None:
            return cached
        try:
            return await store.get(namespace, name)
        except errors.StatusError as exc:
            if errors.is_not_found(exc):
                return None
            raise

    async def service_account(self, namespace: str, name: str) -> Obj | None:
        return await self._get("", "serviceaccounts", namespace, name)

    async def secret(self, namespace: str, name: str) -> Obj | None:
        return await self._get("", "secrets", namespace, name)

    async def pod(self, namespace: str, name: str) -> Obj | None:
        return await self._get("", "pods", namespace, name)

    async def node(self, name: str) -> Obj | None:
        return await self._get("", "nodes", None, name)

    async def namespace(self, name: str) -> Obj:
        """The Namespace, or a 404 StatusError."""
        obj = await self._get("", "namespaces", None, name)
        if obj is None:
            raise errors.not_found("namespaces", name)
        return obj

    async def create_default_service_account(self, namespace: str) -> Obj:
        store = self.server.store(must_resource("", "serviceaccounts"))
        body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        return await store.create(namespace, body)


class RBACCaches:
    """The RBAC authorizer's RulesSource over the four RBAC watch caches."""

    def __init__(self, server: APIServer) -> None:
        self.roles = server.store(must_resource(RBAC, "roles")).cache
        self.role_bindings_cache = server.store(must_resource(RBAC, "rolebindings")).cache
        self.cluster_roles = server.store(must_resource(RBAC, "clusterroles")).cache
        self.cluster_role_bindings_cache = server.store(must_resource(RBAC, "clusterrolebindings")).cache

    def revision(self) -> object:
        return (
            self.roles.revision,
            self.role_bindings_cache.revision,
            self.cluster_roles.revision,
            self.cluster_role_bindings_cache.revision,
        )

    def cluster_role_bindings(self) -> Iterable[Obj]:
        return list(self.cluster_role_bindings_cache.objects.values())

    def role_bindings(self, namespace: str) -> Iterable[Obj]:
        prefix = f"{self.role_bindings_cache.prefix}{namespace}/"
        return [o for k, o in list(self.role_bindings_cache.objects.items()) if k.startswith(prefix)]

    def cluster_role(self, name: str) -> Obj | None:
        return self.cluster_roles.get(f"{self.cluster_roles.prefix}{name}")

    def role(self, namespace: str, name: str) -> Obj | None:
        return self.roles.get(f"{self.roles.prefix}{namespace}/{name}")

    def role_rules(self, kind: str, namespace: str, name: str) -> list[Obj] | None:
        role = self.cluster_role(name) if kind == "ClusterRole" else self.role(namespace, name)
        return None if role is None else list(role.get("rules") or [])

    async def ready(self) -> None:
        for cache in (
            self.roles,
            self.role_bindings_cache,
            self.cluster_roles,
            self.cluster_role_bindings_cache,
        ):
            await cache.ready.wait()


def stamp(obj: Obj) -> Obj:
    """Server-owned metadata for an object the apiserver writes straight to storage (bootstrap)."""
    md = obj.setdefault("metadata", {})
    md.setdefault("uid", new_uid())
    md.setdefault("creationTimestamp", now())
    return obj
