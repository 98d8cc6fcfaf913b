"""DefaultStorageClass (k8s.io/kubernetes `plugin/pkg/admission/storage/storageclass/setdefault`): a claim created
without `spec.storageClassName` gets the default StorageClass, the one annotated
`storageclass.kubernetes.io/is-default-class: "true"` (the newest such, when several are). A claim that names a
class, or asks for none with "", is left alone; with no default class the claim stays without one (and the PV
controller may still bind it to a class-less volume)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from apimachinery.resources import ResourceInfo
from apimachinery.storage import is_default_class
from apimachinery.user import UserInfo
from apiserver.admission import Attributes

Obj = dict[str, Any]


def default_class(classes: Iterable[Obj]) -> str | None:
    defaults = [sc for sc in classes if is_default_class(sc)]
    if not defaults:
        return None
    newest = max(
        defaults, key=lambda sc: (sc["metadata"].get("creationTimestamp") or "", sc["metadata"]["name"])
    )
    return str(newest["metadata"]["name"])


class DefaultStorageClass:
    def __init__(self, storage_classes: Callable[[], Iterable[Obj]]) -> None:
        self.storage_classes = storage_classes

    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return (
            operation == "CREATE"
            and (info.group, info.resource) == ("", "persistentvolumeclaims")
            and not subresource
        )

    async def admit(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user) or not isinstance(a.obj, dict):
            return
        spec = a.obj.get("spec")
        if not isinstance(spec, dict) or spec.get("storageClassName") is not None:
            return
        name = default_class(self.storage_classes())
        if name is not None:
            spec["storageClassName"] = name
