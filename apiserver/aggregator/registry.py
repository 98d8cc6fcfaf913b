"""The registered APIServices as the request path and discovery need them: which group and version goes to which
APIService, and the resources each backend last said it serves (read by the availability check).

A group this apiserver serves itself is never handed away: an APIService for `apps/v1` with a service is
ignored, so that the right to create APIServices is not the right to take over built-in kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiserver.server import APIServer

Obj = dict[str, Any]
GROUP = "apiregistration.k8s.io"


class Registry:
    def __init__(self, server: APIServer) -> None:
        self.server = server
        # APIService name -> the backend's APIResourceList at its last successful check.
        self.resources: dict[str, Obj] = {}

    def _cache(self) -> Any:
        return self.server.stores[(GROUP, "apiservices")].cache

    def local(self, group: str, version: str) -> bool:
        return any(True for _ in self.server.table.in_group_version(group, version))

    def api_service_for(self, group: str, version: str) -> Obj | None:
        """The aggregated APIService that serves `group/version`, or None when it is not aggregated."""
        if not group or self.local(group, version):
            return None
        obj = self._cache().get(f"/registry/apiservices/{version}.{group}")
        if obj is None or not isinstance((obj.get("spec") or {}).get("service"), dict):
            return None
        return obj

    def aggregated(self) -> list[Obj]:
        """Every aggregated APIService, by group priority (highest first) then name, as kube-aggregator sorts."""
        found = [
            obj
            for obj in self._cache().objects.values()
            if isinstance((obj.get("spec") or {}).get("service"), dict)
            and not self.local(str(obj["spec"].get("group") or ""), str(obj["spec"].get("version") or ""))
        ]
        return sorted(
            found, key=lambda o: (-int(o["spec"].get("groupPriorityMinimum") or 0), o["metadata"]["name"])
        )

    def groups(self) -> dict[str, list[Obj]]:
        """group -> its aggregated APIServices, highest versionPriority first (the preferred version)."""
        out: dict[str, list[Obj]] = {}
        for obj in self.aggregated():
            out.setdefault(str(obj["spec"]["group"]), []).append(obj)
        for versions in out.values():
            versions.sort(key=lambda o: -int(o["spec"].get("versionPriority") or 0))
        return out

    def api_group(self, group: str) -> Obj | None:
        versions = [
            {"groupVersion": f"{group}/{o['spec']['version']}", "version": o["spec"]["version"]}
            for o in self.groups().get(group, [])
        ]
        if not versions:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions,
                "preferredVersion": versions[0]}  # fmt: skip

    def aggregated_discovery(self) -> list[Obj]:
        """The APIGroupDiscovery entries of the aggregated groups (apidiscovery.k8s.io/v2), from each backend's
        last answer; a backend not heard from yet is listed with no resources and freshness Stale."""
        items = []
        for group, services in self.groups().items():
            versions = []
            for obj in services:
                listed = self.resources.get(obj["metadata"]["name"])
                resources = [_v2_resource(group, obj["spec"]["version"], r) for r in (listed or {}).get("resources") or []
                             if "/" not in str(r.get("name"))]  # fmt: skip
                versions.append({"version": obj["spec"]["version"], "resources": resources,
                                 "freshness": "Current" if listed else "Stale"})  # fmt: skip
            items.append({"metadata": {"name": group}, "versions": versions})
        return items


def _v2_resource(group: str, version: str, r: Obj) -> Obj:
    entry: Obj = {
        "resource": r.get("name"),
        "responseKind": {"group": group, "version": version, "kind": r.get("kind")},
        "scope": "Namespaced" if r.get("namespaced") else "Cluster",
        "singularResource": r.get("singularName") or str(r.get("kind") or "").lower(),
        "verbs": list(r.get("verbs") or []),
    }
    for key, v2 in (("shortNames", "shortNames"), ("categories", "categories")):
        if r.get(key):
            entry[v2] = list(r[key])
    return entry
