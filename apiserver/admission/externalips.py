"""DenyServiceExternalIPs: a Service may not gain `spec.externalIPs` (CVE-2020-8554: any user who can create a
Service could capture traffic to any address). On by default in kubelite; `--allow-service-external-ips` turns it
off. Updates that keep or drop addresses a Service already had are allowed, as upstream's plugin allows them."""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apiserver.admission import Attributes


def _external_ips(obj: Any) -> list[Any]:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    ips = spec.get("externalIPs") if isinstance(spec, dict) else None
    return ips if isinstance(ips, list) else []


class DenyServiceExternalIPs:
    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        return (info.group, info.resource) == ("", "services") and not subresource and operation != "DELETE"

    async def validate(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user) or a.operation not in (
            "CREATE",
            "UPDATE",
        ):
            return
        new = _external_ips(a.obj)
        old = set(map(str, _external_ips(a.old)))
        if all(str(ip) in old for ip in new):
            return
        raise errors.StatusError(
            403,
            "Forbidden",
            f'services "{a.name}" is forbidden: Use of external IPs is denied by admission control',
            details={"name": a.name, "kind": "services"},
        )
