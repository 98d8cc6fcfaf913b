"""ServiceAccount admission (k8s.io/kubernetes `plugin/pkg/admission/serviceaccount`): every pod runs as a
ServiceAccount, and gets its API credentials as files.

On pod creation (mirror pods aside):
* `spec.serviceAccountName` defaults to `default`; the ServiceAccount must exist (403 otherwise). The namespace's
  `default` one is created here when the controller-manager has not made it yet, so a pod created right after
  its namespace does not fail.
* Unless the pod or its ServiceAccount sets `automountServiceAccountToken: false`, a projected volume
  `kube-api-access-<random>` is added (a 3607 s token, the cluster CA as ca.crt from the `kube-root-ca.crt`
  ConfigMap, and the namespace) and mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every
  container that does not mount something there already. The kubelet writes those files and refreshes the token.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from apimachinery import errors
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apiserver.admission import Attributes, forbidden

log = logging.getLogger("apiserver.admission")

Obj = dict[str, Any]
DEFAULT = "default"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
TOKEN_EXPIRATION = 3607
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def api_access_volume(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


class ServiceAccountAdmission:
    def __init__(
        self,
        get_service_account: Callable[[str, str], Awaitable[Obj | None]],
        create_default: Callable[[str], Awaitable[Obj]],
    ) -> None:
        self.get_service_account = get_service_account
        self.create_default = create_default

    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return operation == "CREATE" and (info.group, info.resource) == ("", "pods") and not subresource

    async def admit(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user) or a.obj is None:
            return
        pod = a.obj
        md = pod.setdefault("metadata", {})
        if MIRROR_ANNOTATION in (md.get("annotations") or {}):
            return
        spec = pod.setdefault("spec", {})
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT
        spec["serviceAccountName"] = name
        spec.setdefault("serviceAccount", name)  # the deprecated alias, as defaulting sets it
        account = await self._service_account(a, name)
        if spec.get("automountServiceAccountToken") is False:
            return
        if (
            spec.get("automountServiceAccountToken") is None
            and account.get("automountServiceAccountToken") is False
        ):
            return
        mount_token(spec)

    async def _service_account(self, a: Attributes, name: str) -> Obj:
        account = await self.get_service_account(a.namespace, name)
        if account is None and name == DEFAULT and not a.dry_run:
            try:
                account = await self.create_default(a.namespace)
                log.info("created the default service account", extra={"namespace": a.namespace})
            except errors.StatusError as exc:
                if not errors.is_already_exists(exc):
                    raise
                account = await self.get_service_account(a.namespace, name)
        if account is None and name == DEFAULT and a.dry_run:
            return {}
        if account is None:
            raise forbidden(
                a, f'error looking up service account {a.namespace}/{name}: serviceaccount "{name}" not found'
            )
        return account


def mount_token(spec: Obj) -> None:
    """Add the kube-api-access volume and its mounts (idempotent: a pod that has them is left alone)."""
    volumes = spec.setdefault("volumes", [])
    existing = [v for v in volumes if str((v or {}).get("name", "")).startswith(VOLUME_PREFIX)]
    if existing:
        volume_name = existing[0]["name"]
    else:
        volume_name = VOLUME_PREFIX + "".join(random.choices(_SUFFIX_ALPHABET, k=5))
        volumes.append(api_access_volume(volume_name))
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            mounts = container.setdefault("volumeMounts", [])
            if any((m or {}).get("mountPath") == MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": volume_name, "readOnly": True, "mountPath": MOUNT_PATH})
