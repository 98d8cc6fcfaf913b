"""Admission: the plugins every write passes after authorization (k8s.io/apiserver `pkg/admission`).

    client -> authn -> authz -> mutating admission -> validation -> validating admission -> storage

A plugin is a small class with one method: mutating plugins `async def admit(self, a: Attributes) -> None` (they
may change `a.obj`), validating plugins `async def validate(self, a: Attributes) -> None`. Either refuses by
raising a StatusError (`forbidden(a, why)` words it as kube-apiserver does). A plugin may also define
`handles(self, operation, info, subresource, user) -> bool`; when every plugin says no for a request, the
store skips the admission round trip (a plain update needs one storage read less).

Plugins see writes that come from clients (create, update, patch, delete and the subresources that write); the
apiserver's own writes (binding's node assignment, namespace finalization, bootstrap) skip admission.
`a.warnings` become `Warning: 299 - "..."` response headers (through apiserver.warning, after the validating
plugins, even when one refuses) and `a.audit_annotations` are logged. The plugins and their order are listed in one
place, `apiserver/plugins.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from apimachinery import errors
from apimachinery.errors import StatusError
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apiserver import warning

__all__ = [
    "Attributes",
    "Chain",
    "MutatingPlugin",
    "StatusError",
    "ValidatingPlugin",
    "forbidden",
]

log = logging.getLogger("apiserver.admission")
Obj = dict[str, Any]


@dataclass
class Attributes:
    operation: str  # "CREATE" | "UPDATE" | "DELETE" | "CONNECT"
    info: ResourceInfo  # apimachinery.resources.ResourceInfo of the resource
    subresource: str  # "" for the main resource
    namespace: str  # "" for cluster-scoped
    name: str
    obj: dict | None  # the incoming object (mutating plugins may change it)
    old: dict | None  # the stored object on UPDATE/DELETE
    user: UserInfo
    dry_run: bool
    warnings: list[str] = field(default_factory=list)  # become `Warning: 299 - "..."` headers
    audit_annotations: dict[str, str] = field(default_factory=dict)


class MutatingPlugin(Protocol):
    async def admit(self, a: Attributes) -> None: ...


class ValidatingPlugin(Protocol):
    async def validate(self, a: Attributes) -> None: ...


def forbidden(a: Attributes, why: str) -> StatusError:
    """The 403 of a refused admission: `pods "x" is forbidden: <why>` (admission.NewForbidden)."""
    name = a.name or str(((a.obj or {}).get("metadata") or {}).get("name") or "")
    return errors.forbidden_resource(a.info.resource, name, a.info.group, why)


class Chain:
    """The mutating plugins in order, then (after validation) the validating plugins in order."""

    def __init__(self, mutating: list[MutatingPlugin], validating: list[ValidatingPlugin]) -> None:
        self.mutating = mutating
        self.validating = validating

    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        for plugin in [*self.mutating, *self.validating]:
            wants = getattr(plugin, "handles", None)
            if wants is None or wants(operation, info, subresource, user):
                return True
        return False

    async def admit(self, a: Attributes) -> None:
        for plugin in self.mutating:
            await plugin.admit(a)

    async def validate(self, a: Attributes) -> None:
        try:
            for plugin in self.validating:
                await plugin.validate(a)
        finally:
            warning.add(*a.warnings)
            if a.audit_annotations:
                log.info(
                    "admission audit",
                    extra={"resource": a.info.resource, "object": a.name, "annotations": a.audit_annotations},
                )


EMPTY = Chain([], [])
