"""The objects besides RBAC that the apiserver keeps in every cluster at start-up: the default `local-path`
StorageClass, the metrics APIService, and the `kubernetes` Service with its Endpoints and EndpointSlice."""

from __future__ import annotations

from typing import Any

from apiserver.auth.roles_addons import METRICS_SERVER_NAMESPACE

Obj = dict[str, Any]


def stamped(obj: Obj) -> Obj:
    import copy

    from apiserver.lookups import stamp

    return stamp(copy.deepcopy(obj))


def local_path_class() -> Obj:
    """The default StorageClass of `kctl up` and compose: the kubelets' local volumes, bound on first use."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "local-path",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubelite.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


async def local_path_storage_class(storage: Any) -> None:
    """Create the `local-path` StorageClass when it is missing (the add-on manager's EnsureExists: an
    administrator's changes stay; a deleted class comes back at the next start)."""
    from apiserver.storage.interface import ErrorCode, StorageError

    try:
        await storage.create("/registry/storageclasses/local-path", stamped(local_path_class()))
    except StorageError as exc:
        if exc.code is not ErrorCode.EXISTS:
            raise


METRICS_GROUP, METRICS_VERSION = "metrics.k8s.io", "v1beta1"


def metrics_api_service(ca_pem: bytes) -> Obj:
    """The metrics-server's registration: metrics.k8s.io/v1beta1 served by kube-system/metrics-server, whose
    certificate the given CA signed (for metrics-server.kube-system.svc)."""
    import base64

    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": f"{METRICS_VERSION}.{METRICS_GROUP}", "labels": {"k8s-app": "metrics-server"}},
        "spec": {
            "group": METRICS_GROUP,
            "version": METRICS_VERSION,
            "service": {"namespace": METRICS_SERVER_NAMESPACE, "name": "metrics-server", "port": 443},
            "caBundle": base64.b64encode(ca_pem).decode(),
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    }


async def ensure_metrics_api_service(storage: Any, ca_file: str) -> None:
    """Create the metrics APIService when it is missing (EnsureExists, as local_path_storage_class)."""
    import asyncio
    from pathlib import Path

    from apiserver.storage.interface import ErrorCode, StorageError

    wanted = metrics_api_service(await asyncio.to_thread(Path(ca_file).read_bytes))
    try:
        await storage.create(f"/registry/apiservices/{wanted['metadata']['name']}", stamped(wanted))
    except StorageError as exc:
        if exc.code is not ErrorCode.EXISTS:
            raise


async def kubernetes_service(server: Any, address: str, port: int) -> None:
    """The `kubernetes` Service in `default` (the first address of the service range, port 443) and its
    Endpoints pointing at this apiserver, as kube-apiserver's bootstrap controller keeps them."""
    from apimachinery import errors
    from apimachinery.resources import must_resource
    from apiserver.storage.interface import ErrorCode, StorageError

    services = server.store(must_resource("", "services"))
    first = _first_service_ip(server.options.service_cluster_ip_range)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": first,
            "clusterIPs": [first],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
        },
    }
    key = "/registry/services/default/kubernetes"
    try:
        await services.get(
            "default", "kubernetes"
        )  # kept from an earlier start: its address is claimed already
    except errors.StatusError as missing:
        if not errors.is_not_found(missing):
            raise StorageError(ErrorCode.UNAVAILABLE, key, str(missing)) from missing
        try:
            await services.create("default", service)
        except errors.StatusError as exc:
            if not errors.is_already_exists(exc):  # another apiserver may have been first
                raise StorageError(ErrorCode.UNAVAILABLE, key, str(exc)) from exc
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": address}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    }  # fmt: skip

    def update(current: Obj | None) -> Obj:
        if current is None:
            return stamped(endpoints)
        return {**current, "subsets": endpoints["subsets"]}

    await server.storage.guaranteed_update(
        "/registry/endpoints/default/kubernetes", update, ignore_not_found=True
    )
    await _kubernetes_slice(server, address, port)


async def _kubernetes_slice(server: Any, address: str, port: int) -> None:
    """The EndpointSlice `kubernetes` beside those Endpoints (kube-proxy reads slices; the Service has no
    selector, so no controller writes one), as kube-apiserver's endpoint reconciler keeps it."""
    from apimachinery.resources import must_resource

    content = {
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default", "generation": 1,
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        **content,
    }  # fmt: skip

    def update(current: Obj | None) -> Obj:
        if current is None:
            return stamped(slice_)
        if all(current.get(k) == v for k, v in content.items()):
            return current
        md = current["metadata"]
        return {**current, **content, "metadata": {**md, "generation": int(md.get("generation") or 0) + 1}}

    key = server.store(must_resource("discovery.k8s.io", "endpointslices")).key("default", "kubernetes")
    await server.storage.guaranteed_update(key, update, ignore_not_found=True)


def _first_service_ip(cidr: str) -> str:
    import ipaddress

    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)
